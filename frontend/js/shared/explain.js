// Where the model looked: occlusion sensitivity, the JavaScript twin of training/explain/occlusion.py.
//
// The page runs a TF.js graph model, which has no gradients to offer, so Grad-CAM is out.
// Occlusion needs only forward passes: cover one square patch of the input at a time with
// `fill` (0, the black background of an MRI slice), run the whole set of occluded copies as a
// few batches, and credit each pixel with the mean drop in the explained class's probability
// over the patches that covered it. High values: hiding this region lowers the answer most.
//
// DOM- and TF-free: the caller supplies the model as a function, so the worker (TF.js in the
// page) and Node (tests against the Python reference) run this same code.

// A patch an eighth of the side, moved half a patch at a time: 15 x 15 = 225 forward passes at
// 128 px. Smaller patches sharpen the map and cost quadratically more passes.
export const PATCH_FRACTION = 1 / 8;
export const FILL_VALUE = 0;
// Occluded copies per forward pass: large enough to amortise the call, small enough
// (32 x 128 x 128 floats = 2 MB) for any device.
export const BATCH_SIZE = 32;

/** Patch side and stride for an input of this size. */
export function occlusionSettings(height, width) {
  const patch = Math.max(1, Math.round(Math.min(height, width) * PATCH_FRACTION));
  return { patch, stride: Math.max(1, Math.round(patch / 2)) };
}

/** Start offsets along one axis: every `stride`, plus a last one flush with the edge. */
export function patchPositions(size, patch, stride) {
  const positions = [];
  for (let p = 0; p + patch <= size; p += stride) positions.push(p);
  if (!positions.length || positions[positions.length - 1] + patch < size) positions.push(Math.max(0, size - patch));
  return positions;
}

/** Every patch's top-left corner, row by row: [{y, x}]. */
export function occlusionPatches(height, width, patch, stride) {
  const ys = patchPositions(height, patch, stride);
  const xs = patchPositions(width, patch, stride);
  return ys.flatMap((y) => xs.map((x) => ({ y, x })));
}

/** How many forward passes explaining an input of this size takes. */
export function occlusionPasses(height, width) {
  const { patch, stride } = occlusionSettings(height, width);
  return patchPositions(height, patch, stride).length * patchPositions(width, patch, stride).length;
}

/**
 * Copies of `input` (Float32Array [h * w * c]) with one patch each set to `fill`, written one
 * after another into `out` (Float32Array [patches.length * h * w * c]).
 */
export function fillOccludedBatch(input, { height, width, channels }, patches, patch, fill, out) {
  const size = height * width * channels;
  patches.forEach(({ y, x }, k) => {
    const base = k * size;
    out.set(input, base);
    const rowEnd = Math.min(y + patch, height);
    const span = (Math.min(x + patch, width) - x) * channels;
    for (let row = y; row < rowEnd; row += 1) {
      const start = base + (row * width + x) * channels;
      out.fill(fill, start, start + span);
    }
  });
  return out;
}

/**
 * Per-pixel mean drop of the explained class's probability: Float32Array [h * w].
 * `scores[k]` is that probability with patches[k] occluded; `baseScore` without occlusion.
 */
export function occlusionMap(baseScore, scores, patches, height, width, patch) {
  const total = new Float64Array(height * width);
  const count = new Uint16Array(height * width);
  patches.forEach(({ y, x }, k) => {
    const drop = baseScore - scores[k];
    for (let row = y; row < Math.min(y + patch, height); row += 1) {
      for (let col = x; col < Math.min(x + patch, width); col += 1) {
        total[row * width + col] += drop;
        count[row * width + col] += 1;
      }
    }
  });
  return Float32Array.from(total, (sum, i) => (count[i] ? sum / count[i] : 0));
}

/**
 * Occlusion map of `input` (Float32Array [h * w * c], the model input) for the class
 * `classIndex` (default: the top one). `predictBatch(batch, n)` runs the model on n inputs laid
 * end to end and resolves to their probabilities, row after row.
 * Resolves to {map: Float32Array [h * w], classIndex, probabilities, patch, stride, passes}.
 */
export async function occlusionSensitivity(predictBatch, input, { height, width, channels }, classIndex = null) {
  const probabilities = await predictBatch(input, 1);
  const classes = probabilities.length;
  const explained = classIndex ?? probabilities.indexOf(Math.max(...probabilities));
  const { patch, stride } = occlusionSettings(height, width);
  const patches = occlusionPatches(height, width, patch, stride);
  const size = height * width * channels;
  const batch = new Float32Array(BATCH_SIZE * size);
  const scores = new Float32Array(patches.length);
  for (let start = 0; start < patches.length; start += BATCH_SIZE) {
    const chunk = patches.slice(start, start + BATCH_SIZE);
    fillOccludedBatch(input, { height, width, channels }, chunk, patch, FILL_VALUE, batch);
    const out = await predictBatch(batch.subarray(0, chunk.length * size), chunk.length);
    chunk.forEach((_, k) => { scores[start + k] = out[k * classes + explained]; });
  }
  const map = occlusionMap(probabilities[explained], scores, patches, height, width, patch);
  return { map, classIndex: explained, probabilities, patch, stride, passes: patches.length };
}

// A perceptually ordered dark-red -> orange -> yellow ramp ("hot"), readable over gray.
const RAMP = [[0, [120, 0, 0]], [0.45, [230, 60, 0]], [0.8, [255, 190, 0]], [1, [255, 255, 160]]];

function rampColour(t) {
  for (let i = 1; i < RAMP.length; i += 1) {
    const [t1, c1] = RAMP[i];
    const [t0, c0] = RAMP[i - 1];
    if (t <= t1) {
      const f = (t - t0) / (t1 - t0);
      return c0.map((v, c) => Math.round(v + (c1[c] - v) * f));
    }
  }
  return RAMP[RAMP.length - 1][1];
}

// The overlay's fixed scale: a drop of this much probability (50 percentage points) or more is
// drawn in full colour, so a map whose largest drop is a fraction of a point stays nearly clear.
export const HEATMAP_FULL_SCALE = 0.5;

/**
 * Occlusion map -> RGBA bytes for an overlay: only drops (regions that support the answer) are
 * shown, on the fixed scale 0 .. HEATMAP_FULL_SCALE; alpha rises with the drop so unimportant
 * pixels stay clear. Returns {rgba: Uint8ClampedArray, peak}; peak 0 means nothing supported the
 * answer.
 */
export function heatmapRgba(map) {
  const peak = map.reduce((m, v) => Math.max(m, v), 0);
  const rgba = new Uint8ClampedArray(map.length * 4);
  if (peak <= 0) return { rgba, peak: 0 };
  map.forEach((v, i) => {
    const t = Math.min(Math.max(v, 0) / HEATMAP_FULL_SCALE, 1);
    const [r, g, b] = rampColour(t);
    rgba.set([r, g, b, Math.round(255 * Math.min(1, t * 1.25))], i * 4);
  });
  return { rgba, peak };
}
