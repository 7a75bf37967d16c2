import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { compressionMessage, dicomPixels, percentileSorted, readDicom, windowToByteRange } from "../js/worker/dicom.js";
import { ImageDecodeError, isDicom } from "../js/shared/files.js";
import { PATIENT_NAME, makeDicom } from "./helpers/dicom-writer.js";

const decode = (bytes, options) => dicomPixels(readDicom(bytes, options));
const close = (actual, expected, tolerance = 1e-4) => {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tolerance, `[${i}] ${actual[i]} != ${e}`));
};

describe("isDicom", () => {
  it("recognises the DICM magic after the preamble, not a file name", () => {
    assert.equal(isDicom(makeDicom({ rows: 1, columns: 2, pixels: [0, 1] })), true);
    assert.equal(isDicom(new Uint8Array(200)), false);
    assert.equal(isDicom(new Uint8Array(10)), false);
  });
});

describe("percentileSorted (numpy linear)", () => {
  it("matches numpy.percentile values", () => {
    // numpy.percentile(np.arange(10), [0.5, 99.5, 50, 25]) -> 0.045, 8.955, 4.5, 2.25
    const sorted = Float64Array.from({ length: 10 }, (_, i) => i);
    close([0.5, 99.5, 50, 25].map((q) => percentileSorted(sorted, q)), [0.045, 8.955, 4.5, 2.25], 1e-12);
    assert.equal(percentileSorted(Float64Array.from([7]), 99.5), 7);
  });
});

describe("windowToByteRange", () => {
  it("maps centre +- width/2 to 0..255 and clips outside", () => {
    close(windowToByteRange([0, 50, 100, 150, 200], 100, 100, false), [0, 0, 127.5, 255, 255]);
  });
  it("inverts MONOCHROME1", () => {
    close(windowToByteRange([50, 100, 150], 100, 100, true), [255, 127.5, 0]);
  });
  it("uses the 0.5-99.5 percentile window when the file has none or a zero width", () => {
    const values = Float64Array.from({ length: 201 }, (_, i) => i);
    // percentiles 1 and 199: value 1 -> 0, 100 -> 127.5, 199 -> 255
    const out = windowToByteRange(values, null, null, false);
    close([out[1], out[100], out[199]], [0, 127.5, 255]);
    close(windowToByteRange(values, 40, 0, false), out, 0);
  });
  it("does not divide by zero on a constant image", () => {
    close(windowToByteRange([5, 5, 5], null, null, false), [0, 0, 0]);
  });
});

describe("readDicom / dicomPixels", () => {
  it("windows 16-bit MONOCHROME2 with the file's centre and width", () => {
    const image = decode(makeDicom({ rows: 1, columns: 4, pixels: [0, 1000, 2000, 4000], windowCenter: 2000, windowWidth: 2000 }));
    assert.deepEqual([image.width, image.height, image.channels], [4, 1, 1]);
    close(image.data, [0, 0, 127.5, 255]);
  });

  it("applies rescale slope and intercept before windowing", () => {
    // stored 0..3 -> -1024 + 2 * v = -1024, -1022, -1020, -1018; window [-1024, -1018]
    const image = decode(makeDicom({ rows: 2, columns: 2, pixels: [0, 1, 2, 3], slope: 2, intercept: -1024, windowCenter: -1021, windowWidth: 6 }));
    close(image.data, [0, 85, 170, 255]);
  });

  it("inverts MONOCHROME1", () => {
    const image = decode(makeDicom({ rows: 1, columns: 3, pixels: [0, 50, 100], photometric: "MONOCHROME1", windowCenter: 50, windowWidth: 100 }));
    close(image.data, [255, 127.5, 0]);
  });

  it("reads signed 16-bit pixels", () => {
    const image = decode(makeDicom({ rows: 1, columns: 3, pixels: [-1000, 0, 1000], signed: true, windowCenter: 0, windowWidth: 2000 }));
    close(image.data, [0, 127.5, 255]);
  });

  it("clears bits above BitsStored and sign-extends, as pydicom does", () => {
    // 12 bits stored in 16: 0xF800 -> 0x800 = 2048 unsigned, or -2048 signed.
    const unsigned = readDicom(makeDicom({ rows: 1, columns: 2, pixelData: new Uint8Array([0x00, 0xf8, 0xff, 0x0f]), bitsStored: 12 }));
    assert.deepEqual([...unsigned.stored], [2048, 4095]);
    const signed = readDicom(makeDicom({ rows: 1, columns: 2, pixelData: new Uint8Array([0x00, 0xf8, 0xff, 0x0f]), bitsStored: 12, signed: true }));
    assert.deepEqual([...signed.stored], [-2048, -1]);
  });

  it("reads 8-bit and big-endian files", () => {
    close(decode(makeDicom({ rows: 1, columns: 2, pixels: [0, 200], bitsAllocated: 8, windowCenter: 100, windowWidth: 200 })).data, [0, 255]);
    close(decode(makeDicom({ rows: 1, columns: 2, pixels: [0, 600], transferSyntax: "explicitBig", windowCenter: 300, windowWidth: 600 })).data, [0, 255]);
  });

  it("takes the middle frame of a multi-frame file, or the one asked for", () => {
    const pixels = [0, 0, 10, 10, 20, 20, 30, 30]; // 4 frames of 1 x 2, each constant
    const bytes = makeDicom({ rows: 1, columns: 2, frames: 4, pixels, windowCenter: 15, windowWidth: 30 });
    const middle = readDicom(bytes);
    assert.deepEqual([middle.frames, middle.frame, [...middle.stored]], [4, 2, [20, 20]]);
    assert.deepEqual([...readDicom(bytes, { frame: 0 }).stored], [0, 0]);
    assert.throws(() => readDicom(bytes, { name: "scan.dcm", frame: 4 }), (err) =>
      err instanceof ImageDecodeError && /scan\.dcm has 4 frame\(s\); there is no frame 5/.test(err.message));
  });

  it("passes RGB through unwindowed, interleaved or planar", () => {
    const interleaved = decode(makeDicom({ rows: 1, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: "RGB", planar: 0, pixels: [1, 2, 3, 4, 5, 6] }));
    assert.deepEqual([interleaved.channels, ...interleaved.data], [3, 1, 2, 3, 4, 5, 6]);
    const planar = decode(makeDicom({ rows: 1, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: "RGB", planar: 1, pixels: [1, 4, 2, 5, 3, 6] }));
    assert.deepEqual([...planar.data], [1, 2, 3, 4, 5, 6]);
  });

  it("hands a JPEG baseline frame to the browser and windows its decoding", () => {
    // SOI, a start-of-frame segment for 8-bit 2 x 1 pixels (checked against Rows/Columns), EOI.
    const jpegBytes = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 1, 0, 2, 1, 1, 0x11, 0, 0xff, 0xd9]);
    const dicom = readDicom(makeDicom({ rows: 1, columns: 2, bitsAllocated: 8, transferSyntax: "jpegBaseline", pixelData: jpegBytes, windowCenter: 100, windowWidth: 200 }));
    assert.deepEqual([...dicom.jpeg.subarray(0, jpegBytes.length)], [...jpegBytes]);
    const browserDecoded = { width: 2, height: 1, channels: 4, data: new Uint8ClampedArray([0, 0, 0, 255, 200, 200, 200, 255]) };
    close(dicomPixels(dicom, browserDecoded).data, [0, 255]);
  });

  it("explains what it cannot read, naming the file", () => {
    const cases = [
      [makeDicom({ rows: 1, columns: 1, withPixelData: false }), /a\.dcm is a DICOM file without pixel data/],
      [makeDicom({ rows: 1, columns: 1, transferSyntax: "jpegLossless", pixelData: new Uint8Array(4) }), /a\.dcm: its compressed frame has no readable image header; the file is damaged/],
      [makeDicom({ rows: 4, columns: 4, pixelData: new Uint8Array(6) }), /a\.dcm: .*truncated/],
      [new Uint8Array([...new Uint8Array(128), 68, 73, 67, 77, 1, 2]), /a\.dcm is not a readable DICOM file/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => readDicom(bytes, { name: "a.dcm" }), (err) => err instanceof ImageDecodeError && message.test(err.message));
    }
  });

  it("names each compression in words, with what to do", () => {
    assert.match(compressionMessage("s.dcm", "1.2.840.10008.1.2.5"), /^s\.dcm: its DICOM image is compressed as RLE lossless, which this page cannot decode\. Export an uncompressed copy \(for example with gdcmconv --raw in\.dcm out\.dcm or dcmtk's dcmdrle in\.dcm out\.dcm\)/);
    assert.match(compressionMessage("s.dcm", "1.2.840.10008.1.2.4.90"), /compressed as JPEG 2000 lossless, .*gdcmconv --raw in\.dcm out\.dcm\) and add/);
    assert.match(compressionMessage("s.dcm", "1.2.3.4"), /a format this page does not know \(transfer syntax 1\.2\.3\.4\).*gdcmconv --raw/);
  });

  it("returns no header text: the patient's name cannot leak through the result", () => {
    const bytes = makeDicom({ rows: 1, columns: 2, pixels: [0, 1] });
    const everything = JSON.stringify({ ...readDicom(bytes), ...decode(bytes) }, (k, v) => (ArrayBuffer.isView(v) ? [...v] : v));
    assert.ok(!everything.includes("Doe") && !everything.includes("12345"));
    assert.ok(new TextDecoder().decode(bytes).includes(PATIENT_NAME)); // the test file does hold it
  });
});
