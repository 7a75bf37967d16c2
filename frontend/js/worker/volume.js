// A volume's voxels -> scaled axial slices in one view: the JavaScript twin of mri/volumes.py.
//
// The convention (the BraTS training slices'): axial slices in the radiological view (the
// patient's anterior at the top, the patient's right on the image's left), slice `index` = the
// position in the volume's own order along its axial axis; intensities scaled per volume, 0 -> 0
// and the 99.5th percentile of the non-zero voxels (numpy's linear interpolation) -> 255, clipped,
// rounded half up. DOM-free, so Node tests it and a pytest checks it against Python.
import { percentileOf } from "./dicom.js";

export const PERCENTILE = 99.5;
// A slice is classified when at least MIN_HEAD_FRACTION of its pixels are brighter than HEAD_GREY.
export const HEAD_GREY = 25;
export const MIN_HEAD_FRACTION = 0.05;
// The same refusals as mri/volumes.py, before memory is spent.
export const MAX_VOXELS = 512 * 512 * 512;
export const MAX_SLICE_SIDE = 2048;
const HEADER_ALLOWANCE = 1024 * 1024;
export const inflateLimit = (maxVoxels = MAX_VOXELS) => maxVoxels * 8 + HEADER_ALLOWANCE;

/** A file that cannot be read as a scan; the message names it and says what to do. */
export class VolumeError extends Error {
  constructor(message) {
    super(message);
    this.name = "VolumeError";
  }
}

/** Refuses shapes no brain MRI volume has (mri/volumes.py check_shape). */
export function checkShape(shape, name, maxVoxels = MAX_VOXELS) {
  const text = shape.join("x");
  if (shape.length < 3 || shape[2] < 2) {
    throw new VolumeError(`${name} is a single 2-D image (${text}), not a volume; classify it as an ` +
      "image (PNG, JPEG or DICOM) instead.");
  }
  if (shape.length > 4 && shape.slice(4).reduce((a, b) => a * b, 1) > 1) {
    throw new VolumeError(`${name} has ${shape.length} dimensions (${text}); only 3-D volumes (or the ` +
      "first volume of a 4-D file) can be read.");
  }
  const [nx, ny, nz] = shape;
  if (Math.min(nx, ny, nz) < 1) throw new VolumeError(`${name} claims ${shape.slice(0, 3).join("x")} voxels; its header is damaged.`);
  if (Math.max(nx, ny, nz) > MAX_SLICE_SIDE || nx * ny * nz > maxVoxels) {
    throw new VolumeError(`${name} claims ${shape.slice(0, 3).join("x")} voxels, more than this reader takes ` +
      `(at most ${maxVoxels.toLocaleString("en")} voxels, ${MAX_SLICE_SIDE} a side); check the file or use a smaller volume.`);
  }
}

/**
 * 4x4 voxel-to-RAS affine (rows) -> {axes: [column, row, slice] voxel axes, reverseColumns,
 * reverseRows}: each voxel axis matched greedily to the world axis it points most along.
 */
export function axialLayout(affine) {
  const cosines = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let v = 0; v < 3; v += 1) {
    const norm = Math.hypot(affine[0][v], affine[1][v], affine[2][v]);
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new VolumeError("the volume's orientation (affine) is degenerate; check its sform/qform.");
    }
    for (let w = 0; w < 3; w += 1) cosines[w][v] = affine[w][v] / norm;
  }
  // Largest |cosine| first; ties keep numpy's flat order (world-major), as np.argsort(kind="stable").
  const cells = [];
  for (let w = 0; w < 3; w += 1) for (let v = 0; v < 3; v += 1) cells.push([Math.abs(cosines[w][v]), w, v, w * 3 + v]);
  cells.sort((a, b) => b[0] - a[0] || a[3] - b[3]);
  const worldOf = [-1, -1, -1];
  for (const [, w, v] of cells) {
    if (worldOf[v] === -1 && !worldOf.includes(w)) worldOf[v] = w;
  }
  const [column, row, slice] = [0, 1, 2].map((w) => worldOf.indexOf(w));
  // RAS: +x is the patient's right, +y anterior; columns run right -> left, rows anterior -> posterior.
  return { axes: [column, row, slice], reverseColumns: cosines[0][column] > 0, reverseRows: cosines[1][row] > 0 };
}

// Integer types of at most 16 bits: [offset, bins] of a histogram with one bin per value (value
// + offset), from which the percentile and the scaling are read exactly, in one pass, no copy.
function histogramLayout(data) {
  if (data instanceof Uint8Array) return [0, 256];
  if (data instanceof Int8Array) return [128, 256];
  if (data instanceof Uint16Array) return [0, 65536];
  if (data instanceof Int16Array) return [32768, 65536];
  return null;
}

/** numpy.percentile(values != 0, 99.5) of `count` integer voxels, from their histogram. */
function histogramPercentile(data, count, [offset, size], name) {
  const bins = new Float64Array(size);
  for (let i = 0; i < count; i += 1) bins[data[i] + offset] += 1;
  bins[offset] = 0; // the zero voxels are left out
  let n = 0;
  for (let b = 0; b < size; b += 1) n += bins[b];
  if (!n) throw new VolumeError(`${name} holds no non-zero voxel (an empty volume); check the file.`);
  return percentileOf(n, PERCENTILE, (k) => {
    let seen = 0;
    for (let b = 0; b < size; b += 1) {
      seen += bins[b];
      if (seen > k) return b - offset;
    }
    return size - 1 - offset;
  });
}

/** numpy.percentile(values != 0, 99.5) of voxels read through `valueAt`. */
function nonzeroPercentile(count, valueAt, name, exactInFloat32) {
  let n = 0;
  for (let i = 0; i < count; i += 1) {
    const v = valueAt(i);
    if (v !== 0 && Number.isFinite(v)) n += 1;
  }
  if (!n) throw new VolumeError(`${name} holds no non-zero voxel (an empty volume); check the file.`);
  const nonzero = exactInFloat32 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0, j = 0; i < count; i += 1) {
    const v = valueAt(i);
    if (v !== 0 && Number.isFinite(v)) nonzero[j++] = v;
  }
  return percentileOf(n, PERCENTILE, (k) => kthSmallest(nonzero, k));
}

// The k-th smallest value, found by partitioning in place (Hoare's selection, median-of-three
// pivot): linear time, where sorting a brain's voxels is slow in a page (docs/log.md).
function kthSmallest(a, k) {
  let left = 0;
  let right = a.length - 1;
  while (left < right) {
    const [p, q, r] = [a[left], a[(left + right) >> 1], a[right]];
    const pivot = Math.max(Math.min(p, q), Math.min(Math.max(p, q), r));
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i += 1;
      while (pivot < a[j]) j -= 1;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i += 1;
        j -= 1;
      }
    }
    if (j < k) left = i;
    if (k < i) right = j;
  }
  return a[k];
}

/**
 * Voxels (a typed array in [i, j, k] order, i fastest, with `scale` = {slope, intercept}) and
 * their affine -> {slices: Uint8Array [n * rows * columns], count, rows, columns}: the scaled
 * axial slices in the radiological view.
 */
export function scaledAxialSlices({ data, shape, affine, slope = 1, intercept = 0, name = "volume" }) {
  const [nx, ny, nz] = shape;
  const count = nx * ny * nz;
  const scaled = slope !== 1 || intercept !== 0;
  const valueAt = scaled ? (i) => data[i] * slope + intercept : (i) => data[i];
  const histogram = scaled ? null : histogramLayout(data);
  // Unscaled float32 voxels are selected among as float32, half the memory of float64, same order.
  const exact = !scaled && data instanceof Float32Array;
  const top = histogram ? histogramPercentile(data, count, histogram, name) : nonzeroPercentile(count, valueAt, name, exact);
  if (!(top > 0)) {
    throw new VolumeError(`${name} has no positive intensities (99.5th percentile ${top}); it does not look like an MRI volume.`);
  }
  let layout;
  try {
    layout = axialLayout(affine);
  } catch (err) {
    throw new VolumeError(`${name}: ${err.message}`);
  }
  const { axes: [ca, ra, sa], reverseColumns, reverseRows } = layout;
  const sizes = [nx, ny, nz];
  const strides = [1, nx, nx * ny];
  const [columns, rows, slicesCount] = [sizes[ca], sizes[ra], sizes[sa]];
  const columnStep = reverseColumns ? -strides[ca] : strides[ca];
  const rowStep = reverseRows ? -strides[ra] : strides[ra];
  const columnStart = reverseColumns ? (columns - 1) * strides[ca] : 0;
  const rowStart = reverseRows ? (rows - 1) * strides[ra] : 0;
  const factor = 255 / top;
  // floor(clip(v, 0, 255) + 0.5); NaN -> 0 as numpy's nan_to_num
  const byteOf = (value) => {
    const v = value * factor;
    return v > 0 ? Math.floor(Math.min(v, 255) + 0.5) : 0;
  };
  const out = new Uint8Array(count);
  const walk = (write) => {
    let o = 0;
    for (let s = 0; s < slicesCount; s += 1) {
      let rowBase = s * strides[sa] + rowStart + columnStart;
      for (let r = 0; r < rows; r += 1, rowBase += rowStep) {
        for (let c = 0, i = rowBase; c < columns; c += 1, i += columnStep) out[o++] = write(i);
      }
    }
  };
  if (histogram) {
    // Each integer value's byte, computed once: the same bytes as byteOf, by table.
    const [offset, size] = histogram;
    const table = new Uint8Array(size);
    for (let b = 0; b < size; b += 1) table[b] = byteOf(b - offset);
    walk((i) => table[data[i] + offset]);
  } else {
    walk((i) => byteOf(valueAt(i)));
  }
  return { slices: out, count: slicesCount, rows, columns };
}

/** One slice of a scaled volume, as a decoded gray image {width, height, channels: 1, data}. */
export function sliceImage(volume, index) {
  const size = volume.rows * volume.columns;
  return { width: volume.columns, height: volume.rows, channels: 1,
    data: volume.slices.subarray(index * size, (index + 1) * size) };
}

/** True when a slice has enough head in it to classify (mri/volumes.py Volume.has_head). */
export function hasHead(image) {
  let bright = 0;
  for (let i = 0; i < image.data.length; i += 1) if (image.data[i] > HEAD_GREY) bright += 1;
  return bright / image.data.length >= MIN_HEAD_FRACTION;
}
