// Writes small DICOM Part 10 files (explicit VR; little or big endian) for tests: only what a
// test needs, with a patient name so that tests can check it never comes out.

const TRANSFER_SYNTAX = {
  explicitLittle: "1.2.840.10008.1.2.1",
  explicitBig: "1.2.840.10008.1.2.2",
  jpegBaseline: "1.2.840.10008.1.2.4.50",
  jpegLossless: "1.2.840.10008.1.2.4.70",
};
export const PATIENT_NAME = "Doe^Jane^Secret";

function tagBytes(group, element, littleEndian) {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint16(0, group, littleEndian);
  b.setUint16(2, element, littleEndian);
  return new Uint8Array(b.buffer);
}

function padded(text, pad = " ") {
  return text.length % 2 ? text + pad : text;
}

// One explicit-VR element. Long VRs (OB, OW, UN, SQ, UT) have a 4-byte length.
function elementBytes(group, element, vr, value, littleEndian) {
  const long = ["OB", "OW", "UN", "SQ", "UT"].includes(vr);
  const header = new DataView(new ArrayBuffer(long ? 12 : 8));
  header.setUint16(0, group, littleEndian);
  header.setUint16(2, element, littleEndian);
  header.setUint8(4, vr.charCodeAt(0));
  header.setUint8(5, vr.charCodeAt(1));
  if (long) header.setUint32(8, value.length, littleEndian);
  else header.setUint16(6, value.length, littleEndian);
  return [new Uint8Array(header.buffer), value];
}

const text = (s, pad) => new TextEncoder().encode(padded(s, pad));
function uint16(v, littleEndian) {
  const b = new DataView(new ArrayBuffer(2));
  b.setUint16(0, v, littleEndian);
  return new Uint8Array(b.buffer);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Stored values -> bytes of the given width and signedness. */
export function pixelBytes(values, { bitsAllocated = 16, signed = false, littleEndian = true } = {}) {
  const view = new DataView(new ArrayBuffer(values.length * bitsAllocated / 8));
  values.forEach((v, i) => {
    if (bitsAllocated === 8) (signed ? view.setInt8(i, v) : view.setUint8(i, v));
    else if (bitsAllocated === 16) (signed ? view.setInt16(i * 2, v, littleEndian) : view.setUint16(i * 2, v, littleEndian));
    else (signed ? view.setInt32(i * 4, v, littleEndian) : view.setUint32(i * 4, v, littleEndian));
  });
  return new Uint8Array(view.buffer);
}

/**
 * A DICOM file as bytes. `pixels`: stored values of all frames, frame after frame (or `pixelData`
 * bytes for encapsulated syntaxes). Options name the pixel module's attributes.
 */
export function makeDicom({
  rows, columns, pixels = null, pixelData = null, frames = 1, bitsAllocated = 16, bitsStored = bitsAllocated,
  signed = false, samplesPerPixel = 1, photometric = "MONOCHROME2", planar = null, slope = null, intercept = null,
  windowCenter = null, windowWidth = null, transferSyntax = "explicitLittle", withPixelData = true,
  seriesUid = null, instanceNumber = null, position = null, orientation = null,
}) {
  const littleEndian = transferSyntax !== "explicitBig";
  const syntax = TRANSFER_SYNTAX[transferSyntax];
  const encapsulated = transferSyntax.startsWith("jpeg");
  const metaElements = [
    elementBytes(0x0002, 0x0001, "OB", new Uint8Array([0, 1]), true),
    elementBytes(0x0002, 0x0002, "UI", text("1.2.840.10008.5.1.4.1.1.4", "\0"), true),
    elementBytes(0x0002, 0x0003, "UI", text("1.2.3.4.5.6.7", "\0"), true),
    elementBytes(0x0002, 0x0010, "UI", text(syntax, "\0"), true),
  ].flat();
  const metaLength = metaElements.reduce((n, p) => n + p.length, 0);
  const groupLength = elementBytes(0x0002, 0x0000, "UL", new Uint8Array(new Uint32Array([metaLength]).buffer), true);
  const ds = [];
  const add = (group, element, vr, value) => ds.push(...elementBytes(group, element, vr, value, littleEndian));
  add(0x0010, 0x0010, "PN", text(PATIENT_NAME));
  add(0x0010, 0x0020, "LO", text("ID-12345"));
  if (seriesUid !== null) add(0x0020, 0x000e, "UI", text(seriesUid, "\0"));
  if (instanceNumber !== null) add(0x0020, 0x0013, "IS", text(String(instanceNumber)));
  if (position !== null) add(0x0020, 0x0032, "DS", text(position.join("\\")));
  if (orientation !== null) add(0x0020, 0x0037, "DS", text(orientation.join("\\")));
  add(0x0028, 0x0002, "US", uint16(samplesPerPixel, littleEndian));
  add(0x0028, 0x0004, "CS", text(photometric));
  if (planar !== null) add(0x0028, 0x0006, "US", uint16(planar, littleEndian));
  if (frames > 1) add(0x0028, 0x0008, "IS", text(String(frames)));
  add(0x0028, 0x0010, "US", uint16(rows, littleEndian));
  add(0x0028, 0x0011, "US", uint16(columns, littleEndian));
  add(0x0028, 0x0100, "US", uint16(bitsAllocated, littleEndian));
  add(0x0028, 0x0101, "US", uint16(bitsStored, littleEndian));
  add(0x0028, 0x0102, "US", uint16(bitsStored - 1, littleEndian));
  add(0x0028, 0x0103, "US", uint16(signed ? 1 : 0, littleEndian));
  if (windowCenter !== null) add(0x0028, 0x1050, "DS", text(String(windowCenter)));
  if (windowWidth !== null) add(0x0028, 0x1051, "DS", text(String(windowWidth)));
  if (intercept !== null) add(0x0028, 0x1052, "DS", text(String(intercept)));
  if (slope !== null) add(0x0028, 0x1053, "DS", text(String(slope)));
  if (withPixelData && encapsulated) {
    // Undefined length, an empty basic offset table item, one fragment per frame, a delimiter.
    const item = (bytes) => concat([tagBytes(0xfffe, 0xe000, true), new Uint8Array(new Uint32Array([bytes.length]).buffer), bytes]);
    const body = concat([item(new Uint8Array(0)), ...[].concat(pixelData).map((f) => item(padded8(f))),
      tagBytes(0xfffe, 0xe0dd, true), new Uint8Array(4)]);
    const header = new DataView(new ArrayBuffer(12));
    header.setUint16(0, 0x7fe0, true);
    header.setUint16(2, 0x0010, true);
    header.setUint8(4, "O".charCodeAt(0));
    header.setUint8(5, "B".charCodeAt(0));
    header.setUint32(8, 0xffffffff, true);
    ds.push(new Uint8Array(header.buffer), body);
  } else if (withPixelData) {
    const bytes = pixelData ?? pixelBytes(pixels, { bitsAllocated, signed, littleEndian });
    add(0x7fe0, 0x0010, bitsAllocated === 8 ? "OB" : "OW", padded8(bytes));
  }
  return concat([new Uint8Array(128), new TextEncoder().encode("DICM"), ...groupLength, ...metaElements, ...ds]);
}

function padded8(bytes) {
  return bytes.length % 2 ? concat([bytes, new Uint8Array(1)]) : bytes;
}
