// Memory: reading a 256x256x200 float32 volume (52 MB of voxels) holds no more than a few copies of
// it at once. Live: the inflated file (1 copy), its non-zero voxels sorted as float32 (1), the
// 8-bit slices (0.25); on top, the gzip stream's chunks until the garbage collector frees them
// (up to 1). Measured as the process's peak resident memory (4.2 copies on Node 20).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { gzip, makeNifti } from "./helpers/nifti-writer.js";

const HELPER = path.join(path.dirname(fileURLToPath(import.meta.url)), "helpers", "scan-memory.mjs");
const SHAPE = [256, 256, 200];
const VOLUME_BYTES = SHAPE[0] * SHAPE[1] * SHAPE[2] * 4;
const COPIES = 4.5;

test(`a 256x256x200 float32 .nii.gz is read holding at most ${COPIES} copies of its voxels`, async () => {
  const count = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const voxels = new Float32Array(count);
  for (let i = 0; i < count; i += 1) voxels[i] = (i % 9973) + 0.5; // every voxel non-zero: the worst case
  const folder = mkdtempSync(path.join(tmpdir(), "scan-memory-"));
  try {
    const file = path.join(folder, "big.nii.gz");
    writeFileSync(file, await gzip(makeNifti({ shape: SHAPE, voxels, dtype: "float32" })));
    const run = spawnSync(process.execPath, ["--expose-gc", HELPER, file], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    const { baselineRss, peakRss, slices } = JSON.parse(run.stdout);
    assert.equal(slices, count);
    const copies = (peakRss - baselineRss) / VOLUME_BYTES;
    assert.ok(copies <= COPIES, `reading held ${copies.toFixed(2)} copies of the volume at its peak`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
