"""DICOM pixel data -> float32 RGB [h, w, 3], 0-255: the Python twin of frontend/js/worker/dicom.js.

The rule both follow: take the middle frame of a multi-frame file (or `frame`), apply
RescaleSlope/RescaleIntercept, window with the file's first WindowCenter/WindowWidth or, when the
file has none, a robust automatic window from the 0.5th to the 99.5th percentile (numpy's linear
interpolation), map [center - width/2, center + width/2] to 0-255, invert MONOCHROME1.
Patient data is never read out of the header.
"""
from __future__ import annotations

import io

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from mri.codecs import COMPRESSIONS, check_codestreams

AUTO_WINDOW_PERCENTILES = (0.5, 99.5)


class DicomDecodeError(ValueError):
    """A DICOM file whose pixels cannot be read; the message names the file and what to do."""


def window_to_uint8_range(values: np.ndarray, center: float | None, width: float | None,
                          monochrome1: bool) -> np.ndarray:
    """Rescaled pixel values -> float32 0-255 by the shared windowing rule."""
    values = values.astype(np.float64)
    if center is None or width is None or width <= 0:
        lo, hi = np.percentile(values, AUTO_WINDOW_PERCENTILES)
    else:
        lo, hi = center - width / 2.0, center + width / 2.0
    if hi <= lo:
        hi = lo + 1.0
    scaled = np.clip((values - lo) / (hi - lo), 0.0, 1.0) * 255.0
    if monochrome1:
        scaled = 255.0 - scaled
    return scaled.astype(np.float32)


def _first(value):
    if value is None:
        return None
    try:
        return float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)
    except (TypeError, ValueError, IndexError):
        return None


def decode_dicom(data: bytes, name: str = "image", frame: int | None = None,
                 max_pixels: int | None = None) -> np.ndarray:
    """DICOM bytes -> float32 RGB [h, w, 3]; refuses more than `max_pixels` (all frames) unread."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError) as err:
        raise DicomDecodeError(f"{name} is not a readable DICOM file ({err}).") from err
    if "PixelData" not in ds:
        raise DicomDecodeError(
            f"{name} is a DICOM file without pixel data (a report or structured document?); "
            "choose an image series file.")
    # The decompression-bomb guard, before pydicom allocates the array its header promises: a
    # 600-byte RLE file that claims 30000 x 30000 pixels otherwise costs 1.8 GB before it fails.
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    all_frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if max_pixels is not None and rows * columns * all_frames > max_pixels:
        how = f"is compressed ({COMPRESSIONS[syntax]}) and would decode to" if syntax in COMPRESSIONS else "has"
        raise DicomDecodeError(
            f"{name} {how} {columns}x{rows} pixels in {all_frames} frame(s), more than the "
            f"{max_pixels:,} allowed; it was not decoded. Export a single, smaller slice.")
    check_codestreams(ds, name, DicomDecodeError)
    try:
        pixels = ds.pixel_array
    except Exception as err:  # pydicom raises many types for unsupported transfer syntaxes
        raise DicomDecodeError(
            f"{name}: its DICOM pixel data could not be decoded ({err}); export it uncompressed.") from err
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2"))
    if photometric.startswith("RGB") or photometric.startswith("YBR"):
        rgb = pixels[(frame if frame is not None else frames // 2)] if frames > 1 else pixels
        return np.asarray(rgb, dtype=np.float32)[..., :3]
    if frames > 1:
        pixels = pixels[frame if frame is not None else frames // 2]
    slope = _first(getattr(ds, "RescaleSlope", None)) or 1.0
    intercept = _first(getattr(ds, "RescaleIntercept", None)) or 0.0
    values = pixels.astype(np.float64) * slope + intercept
    gray = window_to_uint8_range(values, _first(getattr(ds, "WindowCenter", None)),
                                 _first(getattr(ds, "WindowWidth", None)),
                                 photometric == "MONOCHROME1")
    return np.repeat(gray[..., None], 3, axis=-1)
