// What the viewer (viewer.js) hands NiiVue: the page's pixels as in-memory NIfTI-1 files, so that
// nothing is fetched (the CSP's connect-src 'self' refuses blob: URLs anyway). DOM-free: Node tests it.
//
// One layout for images and scans: voxel (column, row, slice), columns running to the screen's
// right in NiiVue's radiological convention (x = -column), rows downwards (y = -row), slices
// upwards (z = slice). For a scan that is the page's own view of its axial slices (volume.js:
// the patient's right on the image's left, anterior at the top).

const HEADER_BYTES = 352; // 348-byte header, 4-byte extension flag
const DATATYPES = new Map([[Uint8Array, [2, 8]], [Float32Array, [16, 32]]]);

/**
 * {columns, rows, slices, data (Uint8Array | Float32Array, column fastest), spacing [x, y, z]}
 * -> ArrayBuffer of a .nii file.
 */
export function niftiBytes({ columns, rows, slices = 1, data, spacing = [1, 1, 1] }) {
  const [code, bits] = DATATYPES.get(data.constructor) ?? [];
  if (!code) throw new TypeError("niftiBytes takes a Uint8Array or a Float32Array");
  if (data.length !== columns * rows * slices) throw new RangeError(`expected ${columns * rows * slices} voxels, got ${data.length}`);
  const buffer = new ArrayBuffer(HEADER_BYTES + data.byteLength);
  const view = new DataView(buffer);
  view.setInt32(0, 348, true);
  [3, columns, rows, slices, 1, 1, 1, 1].forEach((n, i) => view.setInt16(40 + 2 * i, n, true));
  view.setInt16(70, code, true);
  view.setInt16(72, bits, true);
  [1, ...spacing].forEach((d, i) => view.setFloat32(76 + 4 * i, d, true));
  view.setFloat32(108, HEADER_BYTES, true); // vox_offset
  view.setFloat32(112, 1, true); // scl_slope
  view.setInt16(254, 2, true); // sform_code: aligned
  const [sx, sy, sz] = spacing;
  const srows = [[-sx, 0, 0, (columns - 1) * sx], [0, -sy, 0, (rows - 1) * sy], [0, 0, sz, 0]];
  srows.forEach((row, r) => row.forEach((v, c) => view.setFloat32(280 + 16 * r + 4 * c, v, true)));
  new Uint8Array(buffer, 344, 4).set([0x6e, 0x2b, 0x31, 0]); // "n+1\0"
  new Uint8Array(buffer, HEADER_BYTES).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return buffer;
}

/**
 * A decoded image {width, height, channels, data} -> its grey values (Float32Array): the channel
 * itself for grey images, else Rec. 601 luma of the first three channels.
 */
export function greyValues({ width, height, channels, data }) {
  const grey = new Float32Array(width * height);
  for (let i = 0, j = 0; i < grey.length; i += 1, j += channels) {
    grey[i] = channels < 3 ? data[j] : 0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2];
  }
  return grey;
}

/** The lowest and highest value, for the window/level inputs' defaults and bounds. */
export function valueRange(values) {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return low <= high ? { low, high } : { low: 0, high: 0 };
}

/**
 * A heatmap {map, width, height} over an image of `columns` x `rows` pixels (or over `slice` of a
 * scan of `slices`) -> the NIfTI of an overlay covering exactly the same extent. Its voxels are
 * larger, so NiiVue, which resamples overlays into the background's space, stretches it to fit.
 */
export function heatmapVolume({ map, width, height }, { columns, rows, slices = 1, slice = 0 }) {
  const data = new Float32Array(width * height * slices);
  data.set(map, slice * width * height);
  const spacing = [columns / width, rows / height, 1];
  const buffer = niftiBytes({ columns: width, rows: height, slices, data, spacing });
  // Centre the larger voxels on the image's extent: the first one's centre sits half a voxel in.
  const view = new DataView(buffer);
  view.setFloat32(280 + 12, columns - 0.5 - spacing[0] / 2, true);
  view.setFloat32(280 + 16 + 12, rows - 0.5 - spacing[1] / 2, true);
  return buffer;
}
