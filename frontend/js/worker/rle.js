// DICOM RLE Lossless (transfer syntax 1.2.840.10008.1.2.5, PS3.5 annex G) -> stored values.
//
// Hand-written because it is short and no well-kept npm package does it alone: a frame is a
// 64-byte header (segment count, then 15 offsets) and one PackBits segment per byte plane, most
// significant byte first, one colour sample after another. Output never exceeds rows x columns:
// a segment that would write past its plane is cut, one that stops short leaves zeros.
import { ImageDecodeError } from "../shared/files.js";

const HEADER_BYTES = 64;

// One PackBits segment -> `out` (a byte plane of the frame's length).
function unpackSegment(bytes, start, end, out) {
  let i = start;
  let o = 0;
  while (i < end && o < out.length) {
    const n = bytes[i] > 127 ? bytes[i] - 256 : bytes[i];
    i += 1;
    if (n >= 0) { // n + 1 literal bytes
      const count = Math.min(n + 1, end - i, out.length - o);
      out.set(bytes.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n !== -128) { // the next byte, 1 - n times
      const count = Math.min(1 - n, out.length - o);
      out.fill(bytes[i], o, o + count);
      i += 1;
      o += count;
    }
  }
}

/**
 * One RLE frame (Uint8Array) -> Uint8Array | Uint16Array | Uint32Array of rows x columns x
 * samples values (samples interleaved), unsigned: the caller sign-extends.
 */
export function decodeRle(frame, { rows, columns, samples, bitsAllocated }) {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < HEADER_BYTES) throw new ImageDecodeError("its RLE frame is shorter than the RLE header");
  const segments = view.getUint32(0, true);
  const bytesPer = bitsAllocated / 8;
  if (segments !== bytesPer * samples) {
    throw new ImageDecodeError(`its RLE frame has ${segments} segments where ${bitsAllocated}-bit pixels with ${samples} ` +
      `sample(s) need ${bytesPer * samples}`);
  }
  const pixels = rows * columns;
  const Out = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array }[bytesPer];
  const out = new Out(pixels * samples);
  const plane = new Uint8Array(pixels);
  for (let s = 0; s < segments; s += 1) {
    const start = view.getUint32(4 + s * 4, true);
    const end = s + 1 < segments ? view.getUint32(8 + s * 4, true) : frame.length;
    if (start < HEADER_BYTES || start > end || end > frame.length) {
      throw new ImageDecodeError(`its RLE segment ${s + 1} points outside the frame`);
    }
    plane.fill(0);
    unpackSegment(frame, start, end, plane);
    const sample = Math.floor(s / bytesPer);
    const shift = 8 * (bytesPer - 1 - (s % bytesPer));
    for (let p = 0; p < pixels; p += 1) out[p * samples + sample] += plane[p] * 2 ** shift;
  }
  return out;
}
