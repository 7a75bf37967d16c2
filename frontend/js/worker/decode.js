// File bytes -> decoded image {width, height, channels, data}, with the browser's decoders.
// Runs in the worker (createImageBitmap and OffscreenCanvas exist there). The twin of
// mri/images.py decode_image: decode by content, whatever the file name says.
import { decodeDicomFrame, dicomPixels, parseDicom, readDicom } from "./dicom.js";
import { DICOM_HEADER_BYTES, ImageDecodeError, checkPixelCount, isDicom } from "../shared/files.js";
import { headerOf, judge } from "../shared/scope.js";

// Raw decoded values, as Pillow gives them: no colour management (ICC profiles are ignored) and
// no premultiplied alpha (alpha itself is dropped later). Browsers apply a JPEG's EXIF
// orientation, which Pillow does not; scanner exports carry none.
const BITMAP_OPTIONS = Object.freeze({ premultiplyAlpha: "none", colorSpaceConversion: "none" });
// Previews are drawn at most this many pixels on their longer side.
const PREVIEW_SIDE = 768;

// One canvas for every decoding, resized as needed: creating a context per image costs more than
// the decoding of a small slice.
let canvas = null;
function drawingContext(width, height) {
  if (!canvas) canvas = new OffscreenCanvas(width, height);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return canvas.getContext("2d", { willReadFrequently: true });
}

/** An image file (Blob) -> RGBA decoded image; ImageDecodeError naming the file if it is not one. */
export async function decodeRgba(blob, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, BITMAP_OPTIONS);
  } catch {
    // The browser's own message ("The source image could not be decoded.") says nothing more.
    throw new ImageDecodeError(`${name} could not be read as an image: it is damaged, cut short, or not ` +
      "a JPEG, PNG or DICOM file. Check that it opens in an image viewer, or export it again.");
  }
  try {
    checkPixelCount(bitmap.width, bitmap.height, name);
    const context = drawingContext(bitmap.width, bitmap.height);
    context.clearRect(0, 0, bitmap.width, bitmap.height);
    context.drawImage(bitmap, 0, 0);
    const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: bitmap.width, height: bitmap.height, channels: 4, data };
  } finally {
    bitmap.close();
  }
}

/**
 * Any supported file -> {image, dicom, frames, frame, scope}: frames/frame describe a DICOM file's
 * frames (frames 1 for other images); scope is scope.js judge's answer on a DICOM header. `frame` picks a DICOM frame (default: the middle one).
 */
export async function decodeFile(blob, { name = "image", frame = null } = {}) {
  if (!blob.size) throw new ImageDecodeError(`${name} is empty (0 bytes); choose a JPEG, PNG or DICOM image.`);
  const head = new Uint8Array(await blob.slice(0, DICOM_HEADER_BYTES).arrayBuffer());
  if (!isDicom(head)) return { image: await decodeRgba(blob, name), dicom: false, frames: 1, frame: 0 };
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const dataSet = parseDicom(bytes, name);
  const dicom = await decodeDicomFrame(readDicom(bytes, { name, frame, dataSet }), name);
  const scope = judge(headerOf(dataSet)); // what the header says the image is (scope.js)
  const jpeg = dicom.jpeg ? await decodeRgba(new Blob([dicom.jpeg], { type: "image/jpeg" }), name) : null;
  return { image: dicomPixels(dicom, jpeg), dicom: true, frames: dicom.frames, frame: dicom.frame, scope };
}

/**
 * Decoded image -> ImageBitmap of its 8-bit pixels (what the model was given, before resizing),
 * scaled down to at most `maxSide` pixels on its longer side.
 */
export async function previewBitmap(image, maxSide = PREVIEW_SIDE) {
  const { width, height, channels, data } = image;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += channels) {
    const gray = channels === 1;
    rgba[i] = data[j];
    rgba[i + 1] = data[gray ? j : j + 1];
    rgba[i + 2] = data[gray ? j : j + 2];
    rgba[i + 3] = 255;
  }
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return createImageBitmap(new ImageData(rgba, width, height), {
    resizeWidth: Math.max(1, Math.round(width * scale)),
    resizeHeight: Math.max(1, Math.round(height * scale)),
    resizeQuality: "high",
  });
}
