// How decoded pixels become the model's input: the JavaScript twin of mri/images.py.
//
// The model's input (docs/contract.md): grayscale when the model takes one channel (BT.601 luma
// as float, not rounded), bilinear resize with half-pixel centres and no antialiasing (what TF's
// ResizeBilinear does with half_pixel_centers=True), float32 pixel values 0-255, [h, w, c].
// DOM-free so that Node runs the same file in frontend/tests/ (and against Python's numbers).
//
// A decoded image here is {width, height, channels, data}: channels 1 (gray), 3 (RGB) or
// 4 (RGBA as canvas getImageData returns it; alpha is ignored, as Python drops it).

// ITU-R BT.601 luma, the weights Pillow's "L" conversion uses (mri/images.py LUMA_WEIGHTS).
export const LUMA_WEIGHTS = Object.freeze([0.299, 0.587, 0.114]);

const f32 = Math.fround;

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

/**
 * Mean chroma (max - min of R, G, B) of a decoded image, 0-255, over at most `maxSamples`
 * evenly spread pixels: MRI slices are gray, so a colourful image is not one.
 */
export function meanChroma({ width, height, channels, data }, maxSamples = 65536) {
  if (channels < 3) return 0;
  const n = width * height;
  const step = Math.max(1, Math.floor(n / maxSamples));
  let total = 0;
  let count = 0;
  for (let i = 0; i < n; i += step) {
    const j = i * channels;
    const r = data[j];
    const g = data[j + 1];
    const b = data[j + 2];
    total += Math.max(r, g, b) - Math.min(r, g, b);
    count += 1;
  }
  return count ? total / count : 0;
}
