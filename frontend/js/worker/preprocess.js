// A file -> the model's input: decoding by content (DICOM, else the browser's own decoders) and
// preprocessing, the JavaScript twin of mri/images.py. Runs in the worker (createImageBitmap and
// OffscreenCanvas exist there); the pixel maths is DOM-free, so that Node runs the same file in
// frontend/tests/ (and against Python's numbers).
//
// The model's input (docs/contract.md): grayscale when the model takes one channel (BT.601 luma
// as float, not rounded), bilinear resize with half-pixel centres and no antialiasing (what TF's
// ResizeBilinear does with half_pixel_centers=True), float32 pixel values 0-255, [h, w, c].
//
// A decoded image here is {width, height, channels, data}: channels 1 (gray), 3 (RGB) or
// 4 (RGBA as canvas getImageData returns it; alpha is ignored, as Python drops it).
import { DICOM_HEADER_BYTES, ImageDecodeError, checkPixelCount, isDicom } from "../shared/files.js";
import { headerOf, judge } from "../shared/scope.js";
import { onFirstUse } from "./lazy.js";

// DICOM's parser and codecs, loaded with the first DICOM file (or in the background, worker.js).
export const dicomModule = onFirstUse(() => import("./dicom.js"));

// ITU-R BT.601 luma, the weights Pillow's "L" conversion uses (mri/images.py LUMA_WEIGHTS).
export const LUMA_WEIGHTS = Object.freeze([0.299, 0.587, 0.114]);

const f32 = Math.fround;

// Raw decoded values, as Pillow gives them: no colour management (ICC profiles are ignored) and
// no premultiplied alpha (alpha itself is dropped later). Browsers apply a JPEG's EXIF
// orientation, which Pillow does not; scanner exports carry none.
const BITMAP_OPTIONS = Object.freeze({ premultiplyAlpha: "none", colorSpaceConversion: "none" });
// Names of the files the browser decodes itself (DICOM files rarely carry an extension).
const IMAGE_NAME = /\.(jpe?g|png|gif|webp|bmp|avif)$/i;
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

/**
 * Any supported file and metadata.json's `input` -> decodeFile's answer with `input`, the model's
 * input (mri/images.py load_model_input).
 */
export async function readImage(blob, options, input) {
  const decoded = await decodeFile(blob, options);
  return { ...decoded, input: toModelInput(decoded.image, input) };
}

/**
 * Any supported file -> {image, dicom, frames, frame, scope}: frames/frame describe a DICOM file's
 * frames (frames 1 for other images); scope is scope.js judge's answer on a DICOM header. `frame`
 * picks a DICOM frame (default: the middle one).
 */
export async function decodeFile(blob, { name = "image", frame = null } = {}) {
  if (!blob.size) throw new ImageDecodeError(`${name} is empty (0 bytes); choose a JPEG, PNG or DICOM image.`);
  // A file named or typed as an image is decoded as one first: its header is read (about half a
  // millisecond) only if the browser cannot decode it, e.g. a DICOM file named .jpg.
  const named = IMAGE_NAME.test(name) || blob.type.startsWith("image/");
  const bitmap = named ? await bitmapOf(blob).catch(() => null) : null;
  if (bitmap) return { image: rgbaOf(bitmap, name), dicom: false, frames: 1, frame: 0 };
  const head = new Uint8Array(await blob.slice(0, DICOM_HEADER_BYTES).arrayBuffer());
  if (!isDicom(head)) {
    if (named) throw undecodable(name); // the browser has already tried it
    return { image: await decodeRgba(blob, name), dicom: false, frames: 1, frame: 0 };
  }
  const [bytes, { decodeDicomFrame, dicomPixels, parseDicom, readDicom }] = await Promise.all([
    blob.arrayBuffer().then((buffer) => new Uint8Array(buffer)), dicomModule()]);
  const dataSet = parseDicom(bytes, name);
  const dicom = await decodeDicomFrame(readDicom(bytes, { name, frame, dataSet }), name);
  const scope = judge(headerOf(dataSet)); // what the header says the image is (scope.js)
  const jpeg = dicom.jpeg ? await decodeRgba(new Blob([dicom.jpeg], { type: "image/jpeg" }), name) : null;
  return { image: dicomPixels(dicom, jpeg), dicom: true, frames: dicom.frames, frame: dicom.frame, scope };
}

const bitmapOf = (blob) => createImageBitmap(blob, BITMAP_OPTIONS);

/** An image file (Blob) -> RGBA decoded image; ImageDecodeError naming the file if it is not one. */
export async function decodeRgba(blob, name) {
  let bitmap;
  try {
    bitmap = await bitmapOf(blob);
  } catch {
    throw undecodable(name);
  }
  return rgbaOf(bitmap, name);
}

// The browser's own message ("The source image could not be decoded.") says nothing more.
const undecodable = (name) => new ImageDecodeError(`${name} could not be read as an image: it is damaged, ` +
  "cut short, or not a JPEG, PNG or DICOM file. Check that it opens in an image viewer, or export it again.");

/** A decoded ImageBitmap -> its RGBA pixels (the bitmap is closed). */
function rgbaOf(bitmap, name) {
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

/** Decoded image -> Float32Array [h * w], BT.601 luma (gray input passes through). */
export function toGray({ width, height, channels, data }) {
  const n = width * height;
  if (channels === 1) return Float32Array.from(data.subarray(0, n));
  if (channels !== 3 && channels !== 4) throw new Error(`toGray: channels must be 1, 3 or 4, got ${channels}`);
  const gray = new Float32Array(n);
  const [wr, wg, wb] = LUMA_WEIGHTS.map(f32);
  for (let i = 0, j = 0; i < n; i += 1, j += channels) {
    gray[i] = wr * data[j] + wg * data[j + 1] + wb * data[j + 2];
  }
  return gray;
}

/** Decoded image -> Float32Array [h * w * 3] (for a model that takes colour). */
export function toRgb({ width, height, channels, data }) {
  const n = width * height;
  const rgb = new Float32Array(n * 3);
  const [g, b] = channels === 1 ? [0, 0] : [1, 2];
  for (let i = 0, j = 0; i < n * 3; i += 3, j += channels) {
    rgb[i] = data[j];
    rgb[i + 1] = data[j + g];
    rgb[i + 2] = data[j + b];
  }
  return rgb;
}

// TF's half-pixel-centre source coordinates for one axis, in float32 as its kernel computes them
// (tensorflow/core/kernels/image/resize_bilinear_op.cc, compute_interpolation_weights).
function interpolationWeights(outSize, inSize) {
  const scale = f32(inSize / outSize);
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i += 1) {
    const position = f32(f32(f32(i + 0.5) * scale) - 0.5);
    const floor = Math.floor(position);
    lower[i] = Math.max(floor, 0);
    upper[i] = Math.min(Math.ceil(position), inSize - 1);
    lerp[i] = f32(position - floor);
  }
  return { lower, upper, lerp };
}

/**
 * Bilinear resize, half-pixel centres, no antialiasing: Float32Array [inH, inW, c] ->
 * Float32Array [outH, outW, c]. Matches tf.image.resize(..., "bilinear", antialias=False) and
 * TF.js resizeBilinear(x, size, false, true).
 */
export function resizeBilinear(pixels, inHeight, inWidth, channels, outHeight, outWidth) {
  const rows = interpolationWeights(outHeight, inHeight);
  const cols = interpolationWeights(outWidth, inWidth);
  const out = new Float32Array(outHeight * outWidth * channels);
  const rowStride = inWidth * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y += 1) {
    const top = rows.lower[y] * rowStride;
    const bottom = rows.upper[y] * rowStride;
    const yLerp = rows.lerp[y];
    for (let x = 0; x < outWidth; x += 1) {
      const left = cols.lower[x] * channels;
      const right = cols.upper[x] * channels;
      const xLerp = cols.lerp[x];
      for (let c = 0; c < channels; c += 1) {
        const tl = pixels[top + left + c];
        const tr = pixels[top + right + c];
        const bl = pixels[bottom + left + c];
        const br = pixels[bottom + right + c];
        const upperRow = f32(tl + f32(f32(tr - tl) * xLerp));
        const lowerRow = f32(bl + f32(f32(br - bl) * xLerp));
        out[o] = upperRow + f32(f32(lowerRow - upperRow) * yLerp);
        o += 1;
      }
    }
  }
  return out;
}

/**
 * Decoded image -> the model's input as Float32Array [height * width * channels], values 0-255.
 * `input` is metadata.json's {height, width, channels}.
 */
export function toModelInput(image, { height, width, channels }) {
  let pixels;
  if (channels === 1) pixels = toGray(image);
  else if (channels === 3) pixels = toRgb(image);
  else throw new Error(`metadata.json input.channels must be 1 or 3, got ${channels}`);
  return resizeBilinear(pixels, image.height, image.width, channels, height, width);
}
