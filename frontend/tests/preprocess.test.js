import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ImageDecodeError, checkPixelCount } from "../js/shared/files.js";
import { resizeBilinear, toGray, toModelInput } from "../js/worker/preprocess.js";

const close = (actual, expected, tolerance = 1e-4) => {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tolerance, `[${i}] ${actual[i]} != ${e}`));
};

// A 3 x 5 gray image and what tf.image.resize(..., "bilinear", antialias=False) makes of it
// (TensorFlow 2.21, the Python side of the contract).
const SOURCE = Float32Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 255]);
const TF_4X7 = [
  0.0, 5.714285373687744, 12.85714340209961, 20.0, 27.142858505249023, 34.28571319580078, 40.0,
  31.25, 36.96428680419922, 44.10714340209961, 51.25, 58.392860412597656, 65.53571319580078, 71.25,
  68.75, 74.46428680419922, 81.60714721679688, 88.75, 95.89286041259766, 121.51786041259766, 151.875,
  100.0, 105.71428680419922, 112.85714721679688, 120.0, 127.14286041259766, 183.57144165039063, 255.0,
];
const TF_2X2 = [20.0, 45.0, 95.0, 141.5625];

describe("resizeBilinear (half-pixel centres, no antialiasing)", () => {
  it("matches TensorFlow when enlarging", () => {
    close(resizeBilinear(SOURCE, 3, 5, 1, 4, 7), TF_4X7, 1e-5);
  });
  it("matches TensorFlow when shrinking (no antialias: it samples, it does not average)", () => {
    close(resizeBilinear(SOURCE, 3, 5, 1, 2, 2), TF_2X2, 1e-5);
  });
  it("is the identity at the same size", () => {
    assert.deepEqual([...resizeBilinear(SOURCE, 3, 5, 1, 3, 5)], [...SOURCE]);
  });
  it("resizes each channel on its own", () => {
    const rgb = new Float32Array(SOURCE.length * 3);
    SOURCE.forEach((v, i) => rgb.set([v, 2 * v, 255 - v], i * 3));
    const out = resizeBilinear(rgb, 3, 5, 3, 2, 2);
    close([0, 1, 2, 3].map((i) => out[i * 3]), TF_2X2, 1e-5);
    close([0, 1, 2, 3].map((i) => out[i * 3 + 1]), TF_2X2.map((v) => 2 * v), 1e-4);
    close([0, 1, 2, 3].map((i) => out[i * 3 + 2]), TF_2X2.map((v) => 255 - v), 1e-4);
  });
});

describe("toGray", () => {
  it("uses BT.601 luma without rounding, ignoring alpha", () => {
    // numpy: [[255,0,0],[0,255,0],[0,0,255],[10,20,30]] @ [0.299,0.587,0.114] (float32)
    const rgba = new Uint8ClampedArray([255, 0, 0, 0, 0, 255, 0, 7, 0, 0, 255, 255, 10, 20, 30, 128]);
    close(toGray({ width: 2, height: 2, channels: 4, data: rgba }), [76.2449951171875, 149.68499755859375, 29.06999969482422, 18.149999618530273]);
  });
  it("passes one-channel images through", () => {
    assert.deepEqual([...toGray({ width: 2, height: 1, channels: 1, data: Float32Array.from([1.5, 2]) })], [1.5, 2]);
  });
});

describe("toModelInput", () => {
  it("gives float32 [h * w * c] in 0-255 for a gray model", () => {
    const data = new Uint8ClampedArray(4 * 10 * 6).fill(255);
    const input = toModelInput({ width: 10, height: 6, channels: 4, data }, { height: 4, width: 4, channels: 1 });
    assert.ok(input instanceof Float32Array);
    assert.equal(input.length, 16);
    input.forEach((v) => assert.ok(Math.abs(v - 255) < 1e-3));
  });
  it("keeps colour for a three-channel model", () => {
    const data = new Uint8ClampedArray([10, 20, 30, 255]);
    assert.deepEqual([...toModelInput({ width: 1, height: 1, channels: 4, data }, { height: 2, width: 2, channels: 3 })],
      [10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30]);
  });
  it("refuses a channel count the contract does not define", () => {
    assert.throws(() => toModelInput({ width: 1, height: 1, channels: 1, data: [0] }, { height: 1, width: 1, channels: 2 }), /channels must be 1 or 3/);
  });
});

describe("checkPixelCount", () => {
  it("refuses decompression bombs with the file's name", () => {
    assert.throws(() => checkPixelCount(10_000, 5_000, "huge.png"), (err) => err instanceof ImageDecodeError && /huge\.png has 10000x5000 pixels/.test(err.message));
    assert.doesNotThrow(() => checkPixelCount(4000, 4000, "ok.png"));
  });
});
