"""The one Python definition of how an image file becomes model input.

The model's input (docs/contract.md): decode by content, convert to grayscale when the model takes one channel,
resize bilinearly (half-pixel centres, no antialiasing: what `tf.image.resize` and TF.js
`resizeBilinear(..., halfPixelCenters=true)` both do), float32 pixel values 0-255, shape
[h, w, c]. Training, the server and the parity tests all call these functions; the page has its
own JavaScript twin (`frontend/js/worker/preprocess.js`) checked against this one by a test.
"""
from __future__ import annotations

import io

import numpy as np
import tensorflow as tf
from PIL import Image

from mri.dicom import DicomDecodeError, decode_dicom

# ITU-R BT.601 luma, the weights Pillow's "L" conversion uses; the page uses the same ones.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# A decompression bomb guard: no MRI slice needs more pixels than this.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

DICOM_MAGIC_OFFSET = 128


class ImageDecodeError(ValueError):
    """A file that is not an image we can read; the message says which and what to do."""


def is_dicom(data: bytes) -> bool:
    return len(data) >= DICOM_MAGIC_OFFSET + 4 and data[DICOM_MAGIC_OFFSET:DICOM_MAGIC_OFFSET + 4] == b"DICM"


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode JPEG/PNG/BMP/GIF/TIFF (by content, whatever the extension) to float32 RGB [h, w, 3].

    Alpha is dropped (not composited), palette images are expanded, 16-bit grayscale is scaled to
    0-255. Raises ImageDecodeError with a sentence naming the file.
    """
    if not data:
        raise ImageDecodeError(f"{name} is empty (0 bytes); choose a JPEG, PNG or DICOM image.")
    if is_dicom(data):
        try:
            return decode_dicom(data, name, max_pixels=MAX_PIXELS)
        except DicomDecodeError as err:
            raise ImageDecodeError(str(err)) from err
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageDecodeError(
                    f"{name} has {img.width}x{img.height} pixels, more than the {MAX_PIXELS:,} allowed; "
                    "resize it before uploading.")
            img.load()
            return pil_to_rgb_array(img)
    except Image.DecompressionBombError as err:
        raise ImageDecodeError(f"{name} has too many pixels to decode safely; resize it first.") from err
    except ImageDecodeError:
        raise
    except (OSError, SyntaxError, ValueError) as err:
        # Pillow raises OSError for truncated data and UnidentifiedImageError (an OSError) for
        # anything it cannot identify.
        raise ImageDecodeError(
            f"{name} could not be read as an image ({err}); check that it is a complete JPEG, PNG "
            "or DICOM file.") from err


def pil_to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 [h, w, 3] with values 0-255."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit integer) grayscale: scale the full range to 0-255 like a browser does
        # for 16-bit PNG (it keeps the high byte, i.e. divides by 257).
        gray = np.asarray(img, dtype=np.float32)
        gray = gray / 257.0 if img.mode.startswith("I;16") else np.clip(gray, 0, 255)
        return np.repeat(gray[..., None], 3, axis=-1)
    if img.mode == "F":
        gray = np.clip(np.asarray(img, dtype=np.float32), 0, 255)
        return np.repeat(gray[..., None], 3, axis=-1)
    if img.mode in ("RGBA", "LA", "PA", "P"):
        # Palette images may carry transparency; go through RGBA and then drop alpha, the same
        # thing the page does with `premultiplyAlpha: "none"`.
        img = img.convert("RGBA")
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def to_grayscale(rgb: np.ndarray) -> np.ndarray:
    """float32 [h, w, 3] -> float32 [h, w, 1], BT.601 luma, not rounded."""
    return (rgb @ LUMA_WEIGHTS)[..., None]


def resize_bilinear(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres and no antialiasing, as TF.js does it."""
    out = tf.image.resize(pixels[None], (height, width), method="bilinear", antialias=False)
    return out[0].numpy().astype(np.float32)


def to_model_input(rgb: np.ndarray, height: int, width: int, channels: int) -> np.ndarray:
    """Decoded float32 RGB [h, w, 3] -> the model's float32 [height, width, channels]."""
    if channels == 1:
        pixels = to_grayscale(rgb)
    elif channels == 3:
        pixels = rgb
    else:
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return resize_bilinear(pixels, height, width)


def load_model_input(data: bytes, height: int, width: int, channels: int, name: str = "image") -> np.ndarray:
    """Bytes of a file -> the model's float32 [height, width, channels] input."""
    return to_model_input(decode_image(data, name), height, width, channels)
