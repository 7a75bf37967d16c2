// Writes small NIfTI-1 files for tests: a 348-byte header, 4 bytes of (no) extension, the voxels.
// A made-up description, so tests can check the header text never comes out.
export const DESCRIPTION = "Doe^Jane secret scan";

const TYPES = { uint8: [2, 8, "setUint8"], int16: [4, 16, "setInt16"], int32: [8, 32, "setInt32"],
  float32: [16, 32, "setFloat32"], float64: [64, 64, "setFloat64"], uint16: [512, 16, "setUint16"] };

/**
 * voxels: numbers in [i, j, k(, t)] order, i fastest; shape [nx, ny, nz(, nt)]; sform: 3 rows of 4
 * (sform_code 2) or null (no codes: nibabel's pixdim fallback).
 */
export function makeNifti({ shape, voxels, dtype = "int16", sform = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0]],
  slope = 0, intercept = 0, littleEndian = true }) {
  const [code, bits, setter] = TYPES[dtype];
  const size = bits / 8;
  const buffer = new ArrayBuffer(352 + voxels.length * size);
  const view = new DataView(buffer);
  view.setInt32(0, 348, littleEndian);
  view.setInt16(40, shape.length, littleEndian);
  shape.forEach((n, i) => view.setInt16(42 + i * 2, n, littleEndian));
  for (let i = shape.length; i < 7; i += 1) view.setInt16(42 + i * 2, 1, littleEndian);
  view.setInt16(70, code, littleEndian);
  view.setInt16(72, bits, littleEndian);
  [1, 1, 1, 1, 1].forEach((v, i) => view.setFloat32(76 + i * 4, v, littleEndian));
  view.setFloat32(108, 352, littleEndian);
  view.setFloat32(112, slope, littleEndian);
  view.setFloat32(116, intercept, littleEndian);
  new TextEncoder().encodeInto(DESCRIPTION, new Uint8Array(buffer, 148, 80));
  if (sform) {
    view.setInt16(254, 2, littleEndian);
    sform.flat().forEach((v, i) => view.setFloat32(280 + i * 4, v, littleEndian));
  }
  new TextEncoder().encodeInto("n+1\0", new Uint8Array(buffer, 344, 4));
  voxels.forEach((v, i) => view[setter](352 + i * size, v, littleEndian));
  return new Uint8Array(buffer);
}

/** gzip with the platform's CompressionStream, as a .nii.gz. */
export async function gzip(bytes) {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}
