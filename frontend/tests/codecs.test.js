import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { describe, it } from "node:test";

import { checkCodestream } from "../js/worker/codecs.js";
import { decodeDicomFrame, dicomPixels, readDicom } from "../js/worker/dicom.js";
import { ImageDecodeError } from "../js/shared/files.js";
import { decodeRle } from "../js/worker/rle.js";

// A 64 x 64 crop of a real BraTS T2 slice in each syntax the page decodes itself (written by
// tests/fixtures/codecs/make.py with dcmtk and pydicom's encoders); the uncompressed original beside.
const FIXTURES = new URL("../../tests/fixtures/codecs/", import.meta.url);
const read = async (name) => new Uint8Array(await readFile(new URL(name, FIXTURES)));
const decoded = async (name) => decodeDicomFrame(readDicom(await read(name), { name }), name);

describe("compressed DICOM in the page's decoders", async () => {
  const original = readDicom(await read("uncompressed.dcm"));
  const names = (await readdir(FIXTURES)).filter((n) => n.startsWith("1.2.840"));

  it("has a fixture of every syntax the page decodes", () => {
    assert.deepEqual(names.map((n) => n.split(/[-.]dcm|\.dcm/)[0]).sort(), [
      "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
      "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.5"]);
  });

  for (const name of names) {
    it(`${name} decodes to the original's stored values and windowed pixels`, async () => {
      const dicom = await decoded(name);
      assert.equal(dicom.encoded, null);
      let largest = 0;
      for (let i = 0; i < original.stored.length; i += 1) largest = Math.max(largest, Math.abs(dicom.stored[i] - original.stored[i]));
      // JPEG-LS near-lossless (.81) is bounded by its NEAR parameter, 2; all others are exact.
      assert.ok(name.includes(".4.81") ? largest > 0 && largest <= 2 : largest === 0, `largest difference ${largest}`);
      if (!name.includes(".4.81")) assert.deepEqual(dicomPixels(dicom).data, dicomPixels(original).data);
    });
  }

  it("refuses a codestream whose own size is not the header's, before decoding", async () => {
    const bytes = await read("1.2.840.10008.1.2.4.80.dcm");
    const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xf7);
    bytes.set([0xea, 0x60, 0xea, 0x60], sof + 5); // 60000 x 60000
    assert.throws(() => readDicom(bytes, { name: "liar.dcm" }), (err) => err instanceof ImageDecodeError &&
      /^liar\.dcm: its compressed frame says 60000x60000 pixels but its DICOM header says 64x64; it was not decoded/.test(err.message));
  });

  it("reads the size a JPEG 2000 codestream declares", async () => {
    const dicom = readDicom(await read("1.2.840.10008.1.2.4.90.dcm"));
    assert.deepEqual(checkCodestream(dicom.encoded.bytes, "jpeg-2000", { rows: 64, columns: 64 }, "x"), { width: 64, height: 64, precision: null });
  });
});

describe("decodeRle", () => {
  const header = (offsets) => {
    const h = new Uint8Array(64);
    const view = new DataView(h.buffer);
    view.setUint32(0, offsets.length, true);
    offsets.forEach((o, i) => view.setUint32(4 + i * 4, o, true));
    return h;
  };

  it("unpacks PackBits runs and literals, high byte plane first", () => {
    // high bytes: a run of 3 x 0x01 then literal 0x02; low bytes: literals 10, 20, 30, 40
    const high = [0xfe, 0x01, 0x00, 0x02];
    const low = [0x03, 10, 20, 30, 40];
    const frame = new Uint8Array([...header([64, 68]), ...high, ...low]);
    const out = decodeRle(frame, { rows: 2, columns: 2, samples: 1, bitsAllocated: 16 });
    assert.deepEqual([...out], [0x010a, 0x0114, 0x011e, 0x0228]);
  });

  it("never writes past rows x columns, whatever a segment says", () => {
    const frame = new Uint8Array([...header([64]), 0x81, 7, 0x81, 7]); // 2 runs of 128 bytes for 4 pixels
    assert.deepEqual([...decodeRle(frame, { rows: 2, columns: 2, samples: 1, bitsAllocated: 8 })], [7, 7, 7, 7]);
  });

  it("refuses a segment count that does not fit the pixels", () => {
    const frame = new Uint8Array([...header([64]), 0x00, 1]);
    assert.throws(() => decodeRle(frame, { rows: 1, columns: 1, samples: 1, bitsAllocated: 16 }), /1 segments where 16-bit pixels with 1 sample\(s\) need 2/);
  });
});
