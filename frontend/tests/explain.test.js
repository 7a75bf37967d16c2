import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  HEATMAP_FULL_SCALE, fillOccludedBatch, heatmapRgba, occlusionMap, occlusionPasses, occlusionPatches, occlusionSettings, patchPositions,
} from "../js/shared/explain.js";

describe("occlusion geometry", () => {
  it("uses an eighth-of-the-side patch moved by half a patch", () => {
    assert.deepEqual(occlusionSettings(128, 128), { patch: 16, stride: 8 });
    assert.equal(occlusionPatches(128, 128, 16, 8).length, 225);
  });
  it("counts the passes an explanation takes", () => {
    assert.equal(occlusionPasses(128, 128), 225);
    const { patch, stride } = occlusionSettings(100, 60);
    assert.equal(occlusionPasses(100, 60), occlusionPatches(100, 60, patch, stride).length);
  });
  it("covers the whole axis, adding a last position flush with the edge", () => {
    assert.deepEqual(patchPositions(128, 16, 8).slice(-2), [104, 112]);
    assert.deepEqual(patchPositions(10, 4, 3), [0, 3, 6]);
    assert.deepEqual(patchPositions(11, 4, 3), [0, 3, 6, 7]);
    assert.deepEqual(patchPositions(3, 4, 2), [0]);
  });
});

describe("fillOccludedBatch", () => {
  it("writes one copy per patch with that patch filled", () => {
    const input = Float32Array.from({ length: 16 }, (_, i) => i + 1); // 4 x 4 x 1
    const patches = [{ y: 0, x: 0 }, { y: 2, x: 2 }];
    const out = fillOccludedBatch(input, { height: 4, width: 4, channels: 1 }, patches, 2, 0, new Float32Array(40));
    assert.deepEqual([...out.subarray(0, 16)], [0, 0, 3, 4, 0, 0, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    assert.deepEqual([...out.subarray(16, 32)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 13, 14, 0, 0]);
    assert.deepEqual([...out.subarray(32)], new Array(8).fill(0)); // past the batch: untouched
  });
  it("fills every channel", () => {
    const out = fillOccludedBatch(new Float32Array(12).fill(9), { height: 2, width: 2, channels: 3 }, [{ y: 1, x: 1 }], 1, -1, new Float32Array(12));
    assert.deepEqual([...out], [9, 9, 9, 9, 9, 9, 9, 9, 9, -1, -1, -1]);
  });
});

describe("occlusionMap", () => {
  it("finds the region a model relies on", () => {
    // A stand-in model whose score is the mean of the input's top-left 4 x 4 quadrant.
    const size = 8;
    const input = new Float32Array(size * size).fill(1);
    const { patch, stride } = { patch: 2, stride: 1 };
    const patches = occlusionPatches(size, size, patch, stride);
    const batch = fillOccludedBatch(input, { height: size, width: size, channels: 1 }, patches, patch, 0, new Float32Array(patches.length * size * size));
    const score = (k) => {
      let s = 0;
      for (let y = 0; y < 4; y += 1) for (let x = 0; x < 4; x += 1) s += batch[k * 64 + y * size + x];
      return s / 16;
    };
    const map = occlusionMap(1, patches.map((_, k) => score(k)), patches, size, size, patch);
    const inside = map[1 * size + 1];
    const outside = map[6 * size + 6];
    assert.ok(inside > 0.2, `inside ${inside}`);
    assert.equal(outside, 0);
    // hiding any 2 x 2 patch fully inside the quadrant removes 4/16 of the score
    assert.ok(Math.abs(inside - 0.25) < 1e-6);
  });
});

describe("heatmapRgba", () => {
  it("shows only drops, on a fixed scale, transparent where nothing changed", () => {
    const { rgba, peak } = heatmapRgba(Float32Array.from([0, 0.25, 1, -2]));
    assert.equal(peak, 1);
    assert.equal(rgba[3], 0); // no drop: clear
    assert.ok(rgba[7] > 0 && rgba[7] < rgba[11]); // a 25-point drop: fainter than full colour
    assert.equal(rgba[11], 255); // beyond the full scale: full colour
    assert.equal(rgba[15], 0); // a rise is not shown
  });
  it("keeps a negligible change nearly invisible, whatever the map's own largest value", () => {
    const { rgba, peak } = heatmapRgba(Float32Array.from([0, 0.0009]));
    assert.ok(Math.abs(peak - 0.0009) < 1e-9);
    assert.ok(rgba[7] <= 1, `alpha ${rgba[7]} for a 0.09-point drop`);
    assert.equal(heatmapRgba(Float32Array.from([HEATMAP_FULL_SCALE]))[ "rgba"][3], 255);
  });
  it("reports peak 0 when no region supports the answer", () => {
    assert.equal(heatmapRgba(Float32Array.from([-1, 0])).peak, 0);
  });
});
