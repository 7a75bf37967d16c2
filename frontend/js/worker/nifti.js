// NIfTI-1/2 files (.nii, .nii.gz) -> voxels, shape and affine, with nifti-reader-js for the header
// and the platform's own gunzip (DecompressionStream). The Python twin is mri/volumes.py
// (nibabel); the affine follows nibabel's choice: the sform when its code is set, else the qform,
// else pixdim with x flipped (Analyze's radiological default).
//
// Privacy: descrip, intent_name and aux_file are never read out; nothing here leaves the page.
import * as nifti from "../../vendor/nifti-reader.js";
import { isGzip, niftiVersion } from "../shared/files.js";
import { VolumeError, checkShape, inflateLimit, MAX_VOXELS } from "./volume.js";

// NIfTI data type codes -> typed array and bytes per voxel.
const DATA_TYPES = {
  2: [Uint8Array, 1], 4: [Int16Array, 2], 8: [Int32Array, 4], 16: [Float32Array, 4], 64: [Float64Array, 8],
  256: [Int8Array, 1], 512: [Uint16Array, 2], 768: [Uint32Array, 4],
};
const DATA_TYPE_NAMES = "uint8, int8, int16, uint16, int32, uint32, float32 or float64";

/**
 * gunzip with the browser's DecompressionStream, refusing past `limit` bytes without inflating
 * the rest (a gzip bomb) and naming a cut-short or damaged file. `sizeOf(firstBytes)` may give the
 * whole length from the first 540 bytes (a NIfTI header): the output is then allocated once and
 * inflating stops there, so the file is never held twice.
 */
export async function inflate(blob, name, limit = inflateLimit(MAX_VOXELS), sizeOf = null) {
  const reader = blob.stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  let chunks = [];
  let out = null; // once the size is known
  let total = 0;
  const tooLarge = () => new VolumeError(`${name} inflates to more than ${Math.floor(limit / 2 ** 20)} MB, more than ` +
    "any brain MRI volume needs; it was refused before inflating the rest.");
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (out) {
        const room = out.length - total;
        out.set(room < value.length ? value.subarray(0, room) : value, total);
        total += Math.min(room, value.length);
      } else {
        chunks.push(value);
        total += value.length;
        if (total > limit) throw tooLarge();
        if (sizeOf && total >= 540) {
          const size = sizeOf(concatenate(chunks, total));
          if (size !== null) {
            if (size > limit) throw tooLarge();
            out = new Uint8Array(size);
            out.set(concatenate(chunks, total).subarray(0, Math.min(size, total)));
            total = Math.min(size, total);
            chunks = null;
          }
        }
      }
      if (out && total >= out.length) {
        reader.cancel().catch(() => undefined);
        return out;
      }
    }
  } catch (err) {
    reader.cancel().catch(() => undefined);
    if (err instanceof VolumeError) throw err;
    throw new VolumeError(`${name} is cut short or damaged (its gzip stream could not be inflated: ` +
      `${err.message}); download or export it again.`);
  }
  // The stream ended before the size the header gives: what arrived is returned, and the
  // caller's own length check names the file as cut short.
  return out ? out.subarray(0, total) : concatenate(chunks, total);
}

function concatenate(chunks, total) {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

// A NIfTI header's promised file length (offset + first volume's voxels), or null if unsure.
function niftiLength(head) {
  const version = niftiVersion(head);
  if (version === null) return null;
  try {
    const header = nifti.readHeader(head.buffer.slice(head.byteOffset, head.byteOffset + Math.min(head.length, 544)));
    const shape = header.dims.slice(1, 1 + Math.max(0, Math.min(header.dims[0], 7))).map(Number);
    const size = DATA_TYPES[header.datatypeCode]?.[1];
    if (!size || shape.length < 3 || shape.some((n) => !(n >= 1))) return null;
    return Math.floor(Number(header.vox_offset)) + shape[0] * shape[1] * shape[2] * size;
  } catch {
    return null;
  }
}

/** True when a Blob is a NIfTI file by content (a header, or a gzip stream starting with one). */
export async function looksLikeNifti(blob) {
  let head = new Uint8Array(await blob.slice(0, 540).arrayBuffer());
  if (isGzip(head)) {
    try {
      head = await inflate(blob.slice(0, 65536), "", Infinity, () => 540);
    } catch {
      // A cut-short first 64 kB still inflates its first bytes; anything else is not NIfTI.
      return false;
    }
  }
  return niftiVersion(head) !== null;
}

function quaternionAffine(header) {
  // nibabel's quat2mat on (a, b, c, d), a from the unit norm; qfac from pixdim[0].
  const [b, c, d] = [header.quatern_b, header.quatern_c, header.quatern_d];
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const n = a * a + b * b + c * c + d * d;
  const s = 2 / n;
  const [X, Y, Z] = [b * s, c * s, d * s];
  const [wX, wY, wZ, xX, xY, xZ, yY, yZ, zZ] = [a * X, a * Y, a * Z, b * X, b * Y, b * Z, c * Y, c * Z, d * Z];
  const rotation = [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
  const qfac = header.pixDims[0] === -1 ? -1 : 1;
  const zooms = [header.pixDims[1], header.pixDims[2], header.pixDims[3] * qfac];
  const offset = [header.qoffset_x, header.qoffset_y, header.qoffset_z];
  return [...rotation.map((row, r) => [...row.map((v, col) => v * zooms[col]), offset[r]]), [0, 0, 0, 1]];
}

function sformAffine(header, bytes, version) {
  if (version === 2) return header.affine.map((row) => [...row]); // NIfTI-2 always reads srow
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => view.getFloat32(280 + (r * 4 + c) * 4, header.littleEndian)));
  return [...rows, [0, 0, 0, 1]];
}

/** The voxel-to-RAS affine nibabel would give this header. */
export function niftiAffine(header, bytes, version) {
  if (header.sform_code > 0) return sformAffine(header, bytes, version);
  if (header.qform_code > 0) return quaternionAffine(header);
  const [x, y, z] = [1, 2, 3].map((i) => header.pixDims[i] || 1);
  return [[-x, 0, 0, 0], [0, y, 0, 0], [0, 0, z, 0], [0, 0, 0, 1]];
}

function voxelView(bytes, offset, count, header, name) {
  const type = DATA_TYPES[header.datatypeCode];
  if (!type) {
    throw new VolumeError(`${name} stores its voxels as NIfTI data type ${header.datatypeCode}, which this page ` +
      `does not read (it reads ${DATA_TYPE_NAMES}); convert the volume.`);
  }
  const [TypedArray, size] = type;
  const start = bytes.byteOffset + offset;
  if (header.littleEndian && start % size === 0) return new TypedArray(bytes.buffer, start, count);
  // Big-endian or unaligned data: read value by value (one copy, in the file's own type).
  const view = new DataView(bytes.buffer, start, count * size);
  const out = new TypedArray(count);
  const get = { Uint8Array: "getUint8", Int8Array: "getInt8", Int16Array: "getInt16", Uint16Array: "getUint16",
    Int32Array: "getInt32", Uint32Array: "getUint32", Float32Array: "getFloat32", Float64Array: "getFloat64" }[TypedArray.name];
  for (let i = 0; i < count; i += 1) out[i] = view[get](i * size, header.littleEndian);
  return out;
}

/**
 * A NIfTI file (Blob) -> {data (typed array, i fastest), shape [nx, ny, nz], affine, slope,
 * intercept, notes}. Throws VolumeError with a sentence naming the file.
 */
export async function readNifti(blob, { name = "volume", maxVoxels = MAX_VOXELS } = {}) {
  if (!blob.size) throw new VolumeError(`${name} is empty (0 bytes).`);
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  const bytes = isGzip(head) ? await inflate(blob, name, inflateLimit(maxVoxels), niftiLength)
    : new Uint8Array(await blob.arrayBuffer());
  const version = niftiVersion(bytes);
  if (version === null) {
    throw new VolumeError(`${name} is not a NIfTI-1 or NIfTI-2 file (no NIfTI header); export the scan as .nii or .nii.gz.`);
  }
  let header;
  try {
    header = nifti.readHeader(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + Math.min(bytes.length, 540 + 4)));
  } catch (err) {
    throw new VolumeError(`${name}: its NIfTI header could not be read (${err.message}).`);
  }
  const rank = header.dims[0];
  const shape = header.dims.slice(1, 1 + Math.max(0, Math.min(rank, 7))).map(Number);
  checkShape(shape, name, maxVoxels);
  const notes = [];
  const volumes = shape.slice(3).reduce((a, b) => a * b, 1);
  if (volumes > 1) notes.push(`${name} holds ${volumes} volumes (a 4-D file); the first one is used.`);
  const [nx, ny, nz] = shape;
  const count = nx * ny * nz;
  const offset = Math.floor(Number(header.vox_offset));
  const size = DATA_TYPES[header.datatypeCode]?.[1] ?? 1;
  const needed = offset + count * size; // the first volume: the only one read
  if (bytes.length < needed) {
    throw new VolumeError(`${name} is cut short: its header promises ${needed.toLocaleString("en")} bytes, ` +
      `the file has ${bytes.length.toLocaleString("en")}; download or export it again.`);
  }
  const data = voxelView(bytes, offset, count, header, name);
  // nibabel: a zero or non-finite slope means unscaled data.
  const scaled = header.scl_slope !== 0 && Number.isFinite(header.scl_slope);
  if (scaled && !Number.isFinite(header.scl_inter)) {
    throw new VolumeError(`${name} has a scaling slope but no valid intercept; its header is damaged.`);
  }
  return {
    data,
    shape: [nx, ny, nz],
    affine: niftiAffine(header, bytes, version),
    slope: scaled ? header.scl_slope : 1,
    intercept: scaled ? header.scl_inter : 0,
    notes,
  };
}
