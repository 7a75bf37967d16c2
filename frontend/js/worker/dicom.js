// DICOM pixel data -> a decoded image (float32, 0-255): the JavaScript twin of mri/dicom.py.
//
// The rule both follow: take the middle frame of a multi-frame file (or `frame`), apply
// RescaleSlope/RescaleIntercept, window with the file's first WindowCenter/WindowWidth or, when
// the file has none, a robust automatic window from the 0.5th to the 99.5th percentile (numpy's
// linear interpolation), map [center - width/2, center + width/2] to 0-255, invert MONOCHROME1.
// RGB files pass through unwindowed.
//
// Privacy: only the tags that describe pixels are read. Nothing here reads, returns or logs a
// patient, study or institution attribute, and the page never shows the header.
//
// Transfer syntaxes: uncompressed (implicit/explicit VR, little/big endian) here; JPEG baseline
// and 8-bit extended frames are handed back undecoded (`jpeg`) for the browser's own JPEG
// decoder; JPEG Lossless, JPEG-LS, JPEG 2000 and RLE frames (`encoded`) are decoded by
// decodeDicomFrame with codecs.js, after the pixel cap and the codestream's size are checked.
import dicomParser from "../../vendor/dicom-parser.js";
import { checkCodestream, compressionMessage, decodeCompressedFrame, decoderFor, encapsulatedFrame } from "./codecs.js";
import { ImageDecodeError, MAX_PIXELS, checkPixelCount } from "../shared/files.js";

export { compressionMessage };

export const AUTO_WINDOW_PERCENTILES = Object.freeze([0.5, 99.5]);
const UNCOMPRESSED = new Set(["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"]);
const BIG_ENDIAN = "1.2.840.10008.1.2.2";
const TAG = {
  transferSyntax: "x00020010",
  samplesPerPixel: "x00280002",
  photometric: "x00280004",
  frames: "x00280008",
  planarConfiguration: "x00280006",
  rows: "x00280010",
  columns: "x00280011",
  bitsAllocated: "x00280100",
  bitsStored: "x00280101",
  pixelRepresentation: "x00280103",
  windowCenter: "x00281050",
  windowWidth: "x00281051",
  rescaleIntercept: "x00281052",
  rescaleSlope: "x00281053",
  pixelData: "x7fe00010",
};

/** numpy.percentile(values, q) with method="linear", for already sorted values. */
export function percentileSorted(sorted, q) {
  return percentileOf(sorted.length, q, (i) => sorted[i]);
}

/** numpy.percentile with method="linear" of n values, `smallest(i)` giving the i-th smallest. */
export function percentileOf(n, q, smallest) {
  const virtualIndex = (n - 1) * (q / 100);
  if (virtualIndex >= n - 1) return smallest(n - 1);
  if (virtualIndex < 0) return smallest(0);
  const previous = Math.floor(virtualIndex);
  const a = smallest(previous);
  const b = smallest(previous + 1);
  const gamma = virtualIndex - previous;
  // numpy's _lerp: the formula that is exact at the nearer end.
  const difference = b - a;
  return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
}

/**
 * Rescaled pixel values -> Float32Array 0-255 by the shared windowing rule
 * (mri/dicom.py window_to_uint8_range).
 */
export function windowToByteRange(values, center, width, monochrome1) {
  let lo;
  let hi;
  if (center == null || width == null || !(width > 0)) {
    const sorted = Float64Array.from(values).sort();
    [lo, hi] = AUTO_WINDOW_PERCENTILES.map((q) => percentileSorted(sorted, q));
  } else {
    lo = center - width / 2;
    hi = center + width / 2;
  }
  if (hi <= lo) hi = lo + 1;
  const out = new Float32Array(values.length);
  const span = hi - lo;
  for (let i = 0; i < values.length; i += 1) {
    const scaled = Math.min(Math.max((values[i] - lo) / span, 0), 1) * 255;
    out[i] = monochrome1 ? 255 - scaled : scaled;
  }
  return out;
}

function numberOrNull(value) {
  return Number.isFinite(value) ? value : null;
}

/** dicom-parser's data set of a DICOM file; ImageDecodeError naming the file if it is not one. */
export function parseDicom(bytes, name) {
  try {
    return dicomParser.parseDicom(bytes);
  } catch (err) {
    // dicom-parser throws strings and objects as well as Errors.
    const reason = err?.exception ?? err?.message ?? String(err);
    throw new ImageDecodeError(`${name} is not a readable DICOM file (${reason}).`);
  }
}

// Raw values -> stored values with the bits above BitsStored cleared (or sign-extended), as
// pydicom's pixel_array returns them.
function maskToBitsStored(raw, count, { bitsStored, signed }) {
  const values = new Float64Array(count);
  const unused = 32 - bitsStored;
  const mask = bitsStored >= 32 ? null : (2 ** bitsStored) - 1;
  for (let i = 0; i < count; i += 1) {
    let v = raw(i);
    if (mask !== null) v = signed ? (v << unused) >> unused : v & mask;
    values[i] = v;
  }
  return values;
}

// Stored values of one uncompressed frame.
function storedValues(dataSet, bytes, element, geometry, frame, littleEndian) {
  const { rows, columns, samples, bitsAllocated, signed } = geometry;
  const count = rows * columns * samples;
  const bytesPer = bitsAllocated / 8;
  const start = element.dataOffset + frame * count * bytesPer;
  if (start + count * bytesPer > element.dataOffset + element.length || start + count * bytesPer > bytes.length) {
    throw new ImageDecodeError("its pixel data is shorter than Rows x Columns x frames says; the file is truncated.");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * bytesPer);
  const read = {
    8: signed ? (i) => view.getInt8(i) : (i) => view.getUint8(i),
    16: signed ? (i) => view.getInt16(i * 2, littleEndian) : (i) => view.getUint16(i * 2, littleEndian),
    32: signed ? (i) => view.getInt32(i * 4, littleEndian) : (i) => view.getUint32(i * 4, littleEndian),
  }[bitsAllocated];
  return maskToBitsStored(read, count, geometry);
}

// A compressed file: the decompression-bomb guard over all its frames (the twin of mri/dicom.py),
// then the frame's bytes and the codestream's own size, all before any decoder runs.
function compressedFrame(description, dataSet, element, geometry, transferSyntax, name) {
  const decoder = decoderFor(transferSyntax);
  if (!decoder) throw new ImageDecodeError(compressionMessage(name, transferSyntax));
  const { rows, columns } = geometry;
  if (rows * columns * description.frames > MAX_PIXELS) {
    throw new ImageDecodeError(`${name} is compressed and would decode to ${columns}x${rows} pixels in ` +
      `${description.frames} frame(s), more than the ${MAX_PIXELS.toLocaleString("en")} allowed; it was not decoded. ` +
      "Export a single, smaller slice.");
  }
  let frame;
  try {
    frame = encapsulatedFrame(dataSet, element, description.frame, description.frames);
  } catch (err) {
    throw new ImageDecodeError(`${name}: its compressed frame ${description.frame + 1} could not be read ` +
      `(${err?.message ?? err}); export it again, or uncompressed.`);
  }
  const header = checkCodestream(frame, decoder, geometry, name);
  if (decoder === "browser") {
    if (header.precision > 8) {
      throw new ImageDecodeError(compressionMessage(name, transferSyntax,
        `with ${header.precision}-bit samples, which browsers' JPEG decoders do not read`));
    }
    description.jpeg = frame;
  } else {
    description.encoded = { bytes: frame, decoder, geometry };
    description.planar = false; // decoders interleave colour samples
  }
  return description;
}

/** readDicom's result with its compressed frame (`encoded`) decoded into `stored`; others as they are. */
export async function decodeDicomFrame(dicom, name = "image") {
  if (!dicom.encoded) return dicom;
  const { bytes, decoder, geometry } = dicom.encoded;
  const raw = await decodeCompressedFrame(bytes, decoder, geometry, name);
  const count = geometry.rows * geometry.columns * geometry.samples;
  if (raw.length < count) {
    throw new ImageDecodeError(`${name}: its compressed frame decoded to ${raw.length} values where Rows x Columns ` +
      `needs ${count}; the file is damaged. Export it again.`);
  }
  dicom.stored = maskToBitsStored((i) => raw[i], count, geometry);
  dicom.encoded = null;
  return dicom;
}

/**
 * Reads the pixel description and one frame of a DICOM file (Uint8Array). Returns
 * {width, height, frames, frame, monochrome1, color, rescale: {slope, intercept},
 *  window: {center, width}, stored (Float64Array of the frame's stored values) | null,
 *  jpeg (Uint8Array of a JPEG baseline frame for the browser to decode) | null,
 *  encoded ({bytes, decoder, geometry} of another compressed frame, for decodeDicomFrame) | null}.
 * `frame` defaults to the middle one; `dataSet` is dicom-parser's parse of `bytes`, when already done.
 * Throws ImageDecodeError with a sentence naming the file.
 */
export function readDicom(bytes, { name = "image", frame = null, dataSet: parsed = null } = {}) {
  const dataSet = parsed ?? parseDicom(bytes, name); // a series reader parses a multi-frame file once
  const element = dataSet.elements[TAG.pixelData];
  if (!element) {
    throw new ImageDecodeError(`${name} is a DICOM file without pixel data (a report or structured ` +
      "document?); choose an image series file.");
  }
  const transferSyntax = dataSet.string(TAG.transferSyntax) ?? "1.2.840.10008.1.2";
  const photometric = dataSet.string(TAG.photometric) ?? "MONOCHROME2";
  const geometry = {
    rows: dataSet.uint16(TAG.rows),
    columns: dataSet.uint16(TAG.columns),
    samples: dataSet.uint16(TAG.samplesPerPixel) ?? 1,
    bitsAllocated: dataSet.uint16(TAG.bitsAllocated),
    bitsStored: dataSet.uint16(TAG.bitsStored) ?? dataSet.uint16(TAG.bitsAllocated),
    signed: dataSet.uint16(TAG.pixelRepresentation) === 1,
  };
  if (!geometry.rows || !geometry.columns) {
    throw new ImageDecodeError(`${name}: its DICOM header has no Rows/Columns; the file is damaged.`);
  }
  checkPixelCount(geometry.columns, geometry.rows, name);
  const frames = Math.max(1, dataSet.intString(TAG.frames) || 1);
  const index = frame ?? Math.floor(frames / 2);
  if (!Number.isInteger(index) || index < 0 || index >= frames) {
    throw new ImageDecodeError(`${name} has ${frames} frame(s); there is no frame ${index + 1} (choose 1 to ${frames}).`);
  }
  const color = photometric.startsWith("RGB") || photometric.startsWith("YBR");
  const description = {
    width: geometry.columns,
    height: geometry.rows,
    frames,
    frame: index,
    monochrome1: photometric === "MONOCHROME1",
    color,
    planar: dataSet.uint16(TAG.planarConfiguration) === 1,
    // `|| 1` like Python's `or 1.0`: a missing, unreadable or zero slope means 1.
    rescale: {
      slope: dataSet.floatString(TAG.rescaleSlope) || 1,
      intercept: dataSet.floatString(TAG.rescaleIntercept) || 0,
    },
    window: {
      center: numberOrNull(dataSet.floatString(TAG.windowCenter)),
      width: numberOrNull(dataSet.floatString(TAG.windowWidth)),
    },
    stored: null,
    jpeg: null,
    encoded: null,
  };
  if (!UNCOMPRESSED.has(transferSyntax)) {
    return compressedFrame(description, dataSet, element, geometry, transferSyntax, name);
  }
  if (photometric.startsWith("YBR")) {
    throw new ImageDecodeError(`${name}: uncompressed ${photometric} DICOM colour is not supported; ` +
      "export it as MONOCHROME2 or RGB.");
  }
  if (![8, 16, 32].includes(geometry.bitsAllocated)) {
    throw new ImageDecodeError(`${name}: ${geometry.bitsAllocated}-bit DICOM pixels are not supported ` +
      "(8, 16 and 32 are); export it as 8- or 16-bit.");
  }
  try {
    description.stored = storedValues(dataSet, bytes, element, geometry, index, transferSyntax !== BIG_ENDIAN);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new ImageDecodeError(`${name}: ${err.message}`);
    throw err;
  }
  return description;
}

/**
 * readDicom's result -> decoded image {width, height, channels, data: Float32Array 0-255}.
 * For a JPEG frame, `decodedJpeg` is the browser's decoding of `jpeg` as a decoded image
 * (RGBA); a monochrome JPEG's stored values are its red channel.
 */
export function dicomPixels(dicom, decodedJpeg = null) {
  const { width, height } = dicom;
  const n = width * height;
  let stored = dicom.stored;
  if (dicom.jpeg) {
    if (!decodedJpeg) throw new Error("dicomPixels: a JPEG frame needs the browser's decoding of it");
    if (dicom.color) return { width, height, channels: decodedJpeg.channels, data: Float32Array.from(decodedJpeg.data) };
    stored = new Float64Array(n);
    for (let i = 0; i < n; i += 1) stored[i] = decodedJpeg.data[i * decodedJpeg.channels];
  }
  if (dicom.color) {
    const data = new Float32Array(n * 3);
    for (let i = 0; i < n; i += 1) {
      for (let c = 0; c < 3; c += 1) data[i * 3 + c] = dicom.planar ? stored[c * n + i] : stored[i * 3 + c];
    }
    return { width, height, channels: 3, data };
  }
  const { slope, intercept } = dicom.rescale;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i += 1) values[i] = stored[i] * slope + intercept;
  const data = windowToByteRange(values, dicom.window.center, dicom.window.width, dicom.monochrome1);
  return { width, height, channels: 1, data };
}
