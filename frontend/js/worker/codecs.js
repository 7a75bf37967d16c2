// Compressed DICOM frames -> stored values, with decoders vendored from npm (scripts/vendor.mjs):
// JPEG Lossless by jpeg-lossless-decoder-js (what cornerstone's DICOM loader uses), JPEG-LS by
// CharLS and JPEG 2000 by OpenJPEG (@cornerstonejs/codec-*, WebAssembly, loaded on first use),
// RLE by rle.js. JPEG baseline and 8-bit extended frames go to the browser's own JPEG decoder.
//
// Before any decoder runs, the size the codestream itself declares is read from its header (SOF
// or SIZ marker) and must equal the DICOM header's Rows x Columns, which the caller has already
// checked against MAX_PIXELS: a file cannot make a decoder allocate more than the cap.
import dicomParser from "../../vendor/dicom-parser.js";
import { Decoder as LosslessDecoder } from "../../vendor/jpeg-lossless.js";
import { ImageDecodeError } from "../shared/files.js";
import { decodeRle } from "./rle.js";

const VENDOR = new URL("../../vendor/", import.meta.url);
// Transfer syntax -> [its name in words, the decoder, dcmtk's tool for an uncompressed copy].
export const COMPRESSIONS = Object.freeze({
  "1.2.840.10008.1.2.4.50": ["JPEG baseline", "browser", "dcmdjpeg"],
  "1.2.840.10008.1.2.4.51": ["JPEG extended", "browser", "dcmdjpeg"],
  "1.2.840.10008.1.2.4.57": ["JPEG lossless", "jpeg-lossless", "dcmdjpeg"],
  "1.2.840.10008.1.2.4.70": ["JPEG lossless", "jpeg-lossless", "dcmdjpeg"],
  "1.2.840.10008.1.2.4.80": ["JPEG-LS lossless", "jpeg-ls", "dcmdjpls"],
  "1.2.840.10008.1.2.4.81": ["JPEG-LS near-lossless", "jpeg-ls", "dcmdjpls"],
  "1.2.840.10008.1.2.4.90": ["JPEG 2000 lossless", "jpeg-2000", null],
  "1.2.840.10008.1.2.4.91": ["JPEG 2000", "jpeg-2000", null],
  "1.2.840.10008.1.2.5": ["RLE lossless", "rle", "dcmdrle"],
  "1.2.840.10008.1.2.4.201": ["High-Throughput JPEG 2000 lossless", null, null],
  "1.2.840.10008.1.2.4.202": ["High-Throughput JPEG 2000 lossless", null, null],
  "1.2.840.10008.1.2.4.203": ["High-Throughput JPEG 2000", null, null],
  "1.2.840.10008.1.2.1.99": ["deflate (zip)", null, "dcmconv +te"],
});

/** The decoder a transfer syntax needs ("browser", "jpeg-lossless", ...), or null for none. */
export const decoderFor = (transferSyntax) => COMPRESSIONS[transferSyntax]?.[1] ?? null;

/** Why a compressed file cannot be read, in words, with the command that makes a readable copy. */
export function compressionMessage(name, transferSyntax, why = "which this page cannot decode") {
  const [format, , dcmtk] = COMPRESSIONS[transferSyntax] ?? [null, null, null];
  const what = format ? `compressed as ${format}` : `stored in a format this page does not know (transfer syntax ${transferSyntax})`;
  const tools = `gdcmconv --raw in.dcm out.dcm${dcmtk ? ` or dcmtk's ${dcmtk} in.dcm out.dcm` : ""}`;
  return `${name}: its DICOM image is ${what}, ${why}. Export an uncompressed copy ` +
    `(for example with ${tools}) and add that instead` + (format ? ` (transfer syntax ${transferSyntax}).` : ".");
}

/** Frame `index` of encapsulated pixel data, its fragments joined. */
export function encapsulatedFrame(dataSet, element, index, frames) {
  const fragments = element.fragments ?? [];
  if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
  if (element.basicOffsetTable?.length) {
    return dicomParser.readEncapsulatedImageFrame(dataSet, element, index, element.basicOffsetTable);
  }
  if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, index, 1);
  // No offset table and several fragments a frame: each JPEG-family frame ends with an EOI marker.
  return dicomParser.readEncapsulatedImageFrame(dataSet, element, index, dicomParser.createJPEGBasicOffsetTable(dataSet, element));
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, 0xf7]);

// JPEG and JPEG-LS: {width, height, precision} of the first start-of-frame segment.
function jpegFrameHeader(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) { i += 1; continue; } // fill byte
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    if (SOF_MARKERS.has(marker)) {
      return { precision: bytes[i + 4], height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
    }
    if (marker === 0xda) return null; // scan data before any frame header
    i += 2 + length;
  }
  return null;
}

// JPEG 2000 codestream (or a JP2 file around one): {width, height} from the SIZ segment.
function j2kFrameHeader(bytes) {
  const limit = Math.min(bytes.length - 24, 4096);
  for (let i = 0; i < limit; i += 1) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0x4f && bytes[i + 2] === 0xff && bytes[i + 3] === 0x51) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + i + 4);
      const [x, y, x0, y0] = [4, 8, 12, 16].map((offset) => view.getUint32(offset, false));
      return { width: x - x0, height: y - y0, precision: null };
    }
  }
  return null;
}

/**
 * The codestream's own size must be the header's: checked before a decoder sees the frame.
 * Returns the frame header ({width, height, precision}) or null for RLE, which has none.
 */
export function checkCodestream(frame, decoder, { rows, columns }, name) {
  if (decoder === "rle") return null;
  const header = decoder === "jpeg-2000" ? j2kFrameHeader(frame) : jpegFrameHeader(frame);
  if (!header) {
    throw new ImageDecodeError(`${name}: its compressed frame has no readable image header; the file is damaged. ` +
      "Export it again, or uncompressed.");
  }
  if (header.width !== columns || header.height !== rows) {
    throw new ImageDecodeError(`${name}: its compressed frame says ${header.width}x${header.height} pixels but its DICOM ` +
      `header says ${columns}x${rows}; it was not decoded (a damaged or crafted file). Export it again.`);
  }
  return header;
}

// file: URLs only occur under Node (the tests); the page fetches from its own origin.
async function bytesOf(url) {
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname} could not be loaded (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

// Emscripten modules, started once each, on first use.
const WASM = {
  "jpeg-ls": ["charls-decode.js", "charlswasm_decode.wasm", "JpegLSDecoder"],
  "jpeg-2000": ["openjpeg-decode.js", "openjpegwasm_decode.wasm", "J2KDecoder"],
};
const started = new Map();
function wasmCodec(decoder) {
  if (!started.has(decoder)) {
    const [glue, binary] = WASM[decoder];
    started.set(decoder, (async () => {
      const { default: factory } = await import(new URL(glue, VENDOR).href);
      // print/printErr: OpenJPEG reports every header it reads on the console otherwise.
      return factory({ wasmBinary: await bytesOf(new URL(binary, VENDOR)), print: () => {}, printErr: () => {} });
    })());
    started.get(decoder).catch(() => started.delete(decoder)); // a failed start may be retried
  }
  return started.get(decoder);
}

async function decodeWasm(decoder, frame) {
  const codec = await wasmCodec(decoder);
  const instance = new codec[WASM[decoder][2]]();
  try {
    instance.getEncodedBuffer(frame.length).set(frame);
    instance.decode();
    const info = instance.getFrameInfo();
    const decoded = instance.getDecodedBuffer(); // a view of the wasm heap: copied before delete()
    if (info.bitsPerSample <= 8) return Uint8Array.from(decoded);
    const Type = info.isSigned ? Int16Array : Uint16Array;
    return new Type(decoded.buffer.slice(decoded.byteOffset, decoded.byteOffset + decoded.byteLength));
  } finally {
    instance.delete();
  }
}

/**
 * One compressed frame -> its stored values (a typed array, samples interleaved, not yet masked
 * to BitsStored). `geometry` is {rows, columns, samples, bitsAllocated}. Throws ImageDecodeError.
 */
export async function decodeCompressedFrame(frame, decoder, geometry, name) {
  try {
    if (decoder === "rle") return decodeRle(frame, geometry);
    if (decoder === "jpeg-lossless") {
      const bytesOut = geometry.bitsAllocated <= 8 ? 1 : 2;
      const out = new LosslessDecoder().decode(frame.buffer, frame.byteOffset, frame.length, bytesOut);
      return bytesOut === 1 ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
        : new Uint16Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
    }
    return await decodeWasm(decoder, frame);
  } catch (err) {
    const reason = err instanceof ImageDecodeError ? err.message : `the decoder failed: ${err?.message ?? err}`;
    throw new ImageDecodeError(`${name}: its compressed frame could not be decoded (${reason}); export it uncompressed.`);
  }
}
