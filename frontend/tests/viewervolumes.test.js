// The viewer's in-memory NIfTI files, read back by the page's own NIfTI reader (nifti.js, over
// nifti-reader-js): shape, type, values and the voxel-to-world affine NiiVue places them with.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { readNifti } from "../js/worker/nifti.js";
import { greyValues, heatmapVolume, niftiBytes, valueRange } from "../js/ui/viewervolumes.js";

// (The page's reader takes volumes only, so the 2-D cases are written with two slices.)
const read = (buffer) => readNifti(new Blob([buffer]), { name: "viewer.nii" });
// World position of voxel (i, j, k) under a 4x4 affine (rows).
const world = (affine, [i, j, k]) => affine.slice(0, 3).map((row) => row[0] * i + row[1] * j + row[2] * k + row[3]);

describe("niftiBytes", () => {
  it("writes a volume nifti-reader-js reads back voxel for voxel", async () => {
    const data = Uint8Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 7);
    const volume = await read(niftiBytes({ columns: 4, rows: 3, slices: 2, data, spacing: [1, 2, 3] }));
    assert.deepEqual(volume.shape.slice(0, 3), [4, 3, 2]);
    assert.deepEqual([...volume.data], [...data]);
    // Columns to the left of the patient (-x), rows to the back (-y), slices up (+z), in mm.
    assert.deepEqual(world(volume.affine, [0, 0, 0]), [3, 4, 0]);
    assert.deepEqual(world(volume.affine, [3, 2, 1]), [0, 0, 3]);
  });
  it("keeps float values and refuses other types and wrong sizes", async () => {
    const data = Float32Array.from([-1.5, 0, 2.25, 1000, 1e-3, 7, 8, 9]);
    assert.deepEqual([...(await read(niftiBytes({ columns: 2, rows: 2, slices: 2, data }))).data], [...data]);
    assert.throws(() => niftiBytes({ columns: 2, rows: 2, data: new Int16Array(4) }), TypeError);
    assert.throws(() => niftiBytes({ columns: 3, rows: 2, slices: 2, data }), RangeError);
  });
});

describe("heatmapVolume", () => {
  it("covers the image's extent exactly with its larger voxels", async () => {
    const map = Float32Array.from({ length: 8 * 4 }, (_, i) => i / 100);
    const overlay = await read(heatmapVolume({ map, width: 8, height: 4 }, { columns: 64, rows: 32, slices: 2 }));
    assert.deepEqual(overlay.shape.slice(0, 3), [8, 4, 2]);
    // Its first voxel's outer edge is the image's first pixel's outer edge (63.5, 31.5), its last's the last's.
    const [x0, y0] = world(overlay.affine, [0, 0, 0]);
    const [x1, y1] = world(overlay.affine, [7, 3, 0]);
    assert.deepEqual([x0 + 4, y0 + 4, x1 - 4, y1 - 4], [63.5, 31.5, -0.5, -0.5]);
  });
  it("puts a scan slice's map on that slice only", async () => {
    const map = Float32Array.from([1, 2, 3, 4]);
    const overlay = await read(heatmapVolume({ map, width: 2, height: 2 }, { columns: 4, rows: 4, slices: 3, slice: 1 }));
    assert.deepEqual([...overlay.data], [0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
  });
});

describe("greyValues and valueRange", () => {
  it("takes grey images as they are and colour ones as luma", () => {
    assert.deepEqual([...greyValues({ width: 2, height: 1, channels: 1, data: [10, 200] })], [10, 200]);
    const rgba = greyValues({ width: 2, height: 1, channels: 4, data: [50, 50, 50, 255, 255, 0, 0, 255] });
    assert.deepEqual([rgba[0], +rgba[1].toFixed(3)], [50, 76.245]);
    assert.deepEqual(valueRange(Float32Array.from([3, -2, 9])), { low: -2, high: 9 });
  });
});
