// The page's scan reading on generated data: NIfTI (nifti.js), DICOM series (series.js), the
// view and scaling (volume.js), and files -> scan (scans.js). tests/test_volume_parity.py checks
// the same modules against Python on many more volumes and on the BraTS scans.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PATIENT_NAME, makeDicom } from "./helpers/dicom-writer.js";
import { DESCRIPTION, gzip, makeNifti } from "./helpers/nifti-writer.js";
import { inflate, looksLikeNifti, readNifti } from "../js/worker/nifti.js";
import { readScan } from "../js/worker/scans.js";
import { groupSeries, readSeries, seriesUid } from "../js/worker/series.js";
import { axialLayout, hasHead, scaledAxialSlices, sliceImage } from "../js/worker/volume.js";

const SHAPE = [4, 5, 3];
const COUNT = SHAPE[0] * SHAPE[1] * SHAPE[2];
const at = (i, j, k) => i + SHAPE[0] * (j + SHAPE[1] * k);

// One bright voxel at (1, 0, 2): where it lands in the slices shows the orientation.
function marker() {
  const voxels = new Array(COUNT).fill(0);
  voxels[at(1, 0, 2)] = 1000;
  return voxels;
}

async function slicesOf(bytes, name = "test.nii") {
  const { volume, notes } = await readScan(new File([bytes], name));
  return { ...volume, notes };
}

function brightest(volume) {
  const index = volume.slices.indexOf(255);
  const size = volume.rows * volume.columns;
  return { slice: Math.floor(index / size), row: Math.floor((index % size) / volume.columns), column: index % volume.columns };
}

test("orientation: anterior up, the patient's right on the left, slices in the file's order", async () => {
  const cases = [
    // BraTS: i -> patient's left, j -> posterior, k -> superior: already the view.
    [[[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0]], { slice: 2, row: 0, column: 1 }, [4, 5]],
    // RAS: both in-plane axes reversed.
    [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], { slice: 2, row: 4, column: 2 }, [4, 5]],
    // Stored inferior-wards: the slice index stays the file's own.
    [[[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 0]], { slice: 2, row: 0, column: 1 }, [4, 5]],
    // i -> superior, j -> left, k -> posterior: a sagittal-stored volume cut axially.
    [[[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]], { slice: 1, row: 2, column: 0 }, [5, 3]],
    // No sform or qform: nibabel's default, x flipped (LAS): only rows reversed.
    [null, { slice: 2, row: 4, column: 1 }, [4, 5]],
  ];
  for (const [sform, where, [columns, rows]] of cases) {
    const volume = await slicesOf(makeNifti({ shape: SHAPE, voxels: marker(), sform }));
    assert.deepEqual([volume.columns, volume.rows], [columns, rows], JSON.stringify(sform));
    assert.deepEqual(brightest(volume), where, JSON.stringify(sform));
  }
});

test("axialLayout matches each voxel axis to the world axis it points most along", () => {
  const tilted = [[-0.99, 0.1, 0, 0], [0.1, 0.99, 0.2, 0], [0, -0.2, 0.98, 0], [0, 0, 0, 1]];
  assert.deepEqual(axialLayout(tilted), { axes: [0, 1, 2], reverseColumns: false, reverseRows: true });
  assert.throws(() => axialLayout([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), /degenerate/);
});

test("scaling: 0 stays 0, the 99.5th percentile of the non-zero voxels becomes 255", () => {
  const data = Float64Array.from({ length: 1001 }, (_, i) => i); // 0 and 1..1000
  const volume = scaledAxialSlices({ data, shape: [1001, 1, 1], affine: [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] });
  const top = 1 + 0.995 * 999; // numpy.percentile(1..1000, 99.5)
  assert.equal(volume.slices[0], 0);
  assert.equal(volume.slices[500], Math.floor((500 * 255) / top + 0.5));
  assert.equal(volume.slices[996], 255);
  assert.equal(volume.slices[1000], 255);
});

test("integer voxels (read by histogram) scale as the same values in float64 (read by selection)", () => {
  const affine = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const shape = [7, 5, 3];
  for (const [Type, low, high] of [[Int16Array, -3000, 3000], [Uint16Array, 0, 60000], [Int8Array, -128, 127],
    [Uint8Array, 0, 255]]) {
    const data = Type.from({ length: 105 }, (_, i) => (i % 9 === 0 ? 0 : low + ((i * 7919) % (high - low + 1))));
    const expected = scaledAxialSlices({ data: Float64Array.from(data), shape, affine }).slices;
    assert.deepEqual(scaledAxialSlices({ data, shape, affine }).slices, expected, Type.name);
  }
});

test("data types, slope and intercept, gzip and byte order give the same slices", async () => {
  const voxels = Array.from({ length: COUNT }, (_, i) => (i * 37) % 200);
  const reference = (await slicesOf(makeNifti({ shape: SHAPE, voxels }))).slices;
  for (const dtype of ["uint8", "int16", "uint16", "int32", "float32", "float64"]) {
    assert.deepEqual((await slicesOf(makeNifti({ shape: SHAPE, voxels, dtype }))).slices, reference, dtype);
  }
  const halved = voxels.map((v) => v / 2);
  assert.deepEqual((await slicesOf(makeNifti({ shape: SHAPE, voxels: halved, dtype: "float32", slope: 2 }))).slices, reference);
  const shifted = await slicesOf(makeNifti({ shape: SHAPE, voxels, slope: 1, intercept: 50 }));
  assert.notDeepEqual(shifted.slices, reference); // the intercept moves the window
  assert.deepEqual((await slicesOf(await gzip(makeNifti({ shape: SHAPE, voxels })), "t.nii.gz")).slices, reference);
  assert.deepEqual((await slicesOf(makeNifti({ shape: SHAPE, voxels, littleEndian: false }))).slices, reference);
});

test("a 4-D file: the first volume, and a note that says so", async () => {
  const voxels = Array.from({ length: COUNT }, (_, i) => (i * 37) % 200);
  const second = voxels.map((v) => 200 - v);
  const both = await slicesOf(makeNifti({ shape: [...SHAPE, 2], voxels: [...voxels, ...second] }));
  assert.deepEqual(both.slices, (await slicesOf(makeNifti({ shape: SHAPE, voxels }))).slices);
  assert.match(both.notes[0], /2 volumes .*first one is used/);
});

test("bad files get a sentence naming them", async () => {
  const voxels = Array.from({ length: 64 * 64 * 8 }, (_, i) => (i * 7919) % 1000);
  const gz = await gzip(makeNifti({ shape: [64, 64, 8], voxels }));
  await assert.rejects(readNifti(new Blob([gz.subarray(0, gz.length >> 1)]), { name: "cut.nii.gz" }), /cut\.nii\.gz is cut short/);
  const raw = makeNifti({ shape: SHAPE, voxels: marker() });
  await assert.rejects(readNifti(new Blob([raw.subarray(0, raw.length - 10)]), { name: "cut.nii" }), /cut\.nii is cut short/);
  await assert.rejects(readNifti(new Blob([makeNifti({ shape: [4, 5], voxels: new Array(20).fill(1) })]), { name: "flat.nii" }), /single 2-D image/);
  const huge = makeNifti({ shape: [4, 5, 3], voxels: marker() });
  new DataView(huge.buffer).setInt16(42, 30000, true);
  new DataView(huge.buffer).setInt16(44, 30000, true);
  await assert.rejects(readNifti(new Blob([huge]), { name: "huge.nii" }), /claims 30000x30000x3 voxels/);
  await assert.rejects(readScan(new File([new TextEncoder().encode("hello".repeat(200))], "notes.txt")), /notes\.txt is neither a NIfTI/);
  await assert.rejects(readScan(new File([new Uint8Array(0)], "empty.nii")), /empty/);
  await assert.rejects(slicesOf(makeNifti({ shape: SHAPE, voxels: new Array(COUNT).fill(0) })), /no non-zero voxel/);
});

test("a gzip bomb stops inflating at the limit", async () => {
  const bomb = await gzip(new Uint8Array(8 * 2 ** 20));
  assert.ok(bomb.length < 2 ** 20 / 8);
  await assert.rejects(inflate(new Blob([bomb]), "bomb.nii.gz", 2 ** 20), /bomb\.nii\.gz inflates to more than 1 MB/);
});

test("looksLikeNifti reads content, not names", async () => {
  assert.ok(await looksLikeNifti(new Blob([makeNifti({ shape: SHAPE, voxels: marker() })])));
  assert.ok(await looksLikeNifti(new Blob([await gzip(makeNifti({ shape: SHAPE, voxels: marker() }))])));
  assert.ok(!(await looksLikeNifti(new Blob([await gzip(new TextEncoder().encode("hello"))]))));
  assert.ok(!(await looksLikeNifti(new Blob([makeDicom({ rows: 2, columns: 2, pixels: [1, 2, 3, 4] })]))));
});

// --- DICOM series ---------------------------------------------------------------------------------

function seriesFiles(voxels, { uid = "1.2.3", positions = true, instances = true, skip = [] } = {}) {
  const [nx, ny, nz] = SHAPE;
  const files = [];
  for (let k = 0; k < nz; k += 1) {
    if (skip.includes(k)) continue;
    const pixels = [];
    for (let j = 0; j < ny; j += 1) for (let i = 0; i < nx; i += 1) pixels.push(voxels[at(i, j, k)]);
    files.push(new File([makeDicom({
      rows: ny, columns: nx, pixels, seriesUid: uid,
      instanceNumber: instances ? k + 1 : null,
      position: positions ? [0, 0, 2.5 * k] : null,
      orientation: positions ? [1, 0, 0, 0, 1, 0] : null,
    })], `IM${k}.dcm`));
  }
  return files;
}

test("a DICOM series in any file order gives the NIfTI volume's slices", async () => {
  const voxels = Array.from({ length: COUNT }, (_, i) => (i * 37) % 200 + 1);
  const reference = (await slicesOf(makeNifti({ shape: SHAPE, voxels }))).slices;
  const files = seriesFiles(voxels);
  for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
    const { volume, notes, slices } = await readScan(order.map((i) => files[i]));
    assert.deepEqual(volume.slices, reference, String(order));
    assert.deepEqual(notes, []);
    // Each slice keeps its file's InstanceNumber and its position along the normal, in mm.
    assert.deepEqual(slices, [{ instance: 1, position: 0 }, { instance: 2, position: 2.5 }, { instance: 3, position: 5 }]);
  }
  const byNumber = await readScan(seriesFiles(voxels, { positions: false }).reverse());
  assert.deepEqual(byNumber.volume.slices, reference);
  assert.deepEqual(byNumber.slices.map((s) => [s.instance, s.position]), [[1, null], [2, null], [3, null]]);
  assert.equal((await readScan(new File([makeNifti({ shape: SHAPE, voxels })], "v.nii"))).slices, undefined);
  assert.ok(byNumber.notes.some((note) => /ordered by InstanceNumber/.test(note)), byNumber.notes.join(" "));
  assert.ok(!JSON.stringify(byNumber.notes).includes("Doe"));
});

test("a gap opens the series and is named; refusals: mixed series, no position at all, one slice", async () => {
  const voxels = Array.from({ length: COUNT }, (_, i) => i + 1);
  const four = [...seriesFiles(voxels), ...seriesFiles(voxels).map((f, k) => new File([makeDicom({
    rows: SHAPE[1], columns: SHAPE[0], pixels: new Array(20).fill(1), seriesUid: "1.2.3", instanceNumber: 9,
    position: [0, 0, 2.5 * (k + 5)], orientation: [1, 0, 0, 0, 1, 0] })], `late${k}.dcm`))];
  const gappy = await readScan(four);
  assert.equal(gappy.volume.count, 6);
  assert.ok(gappy.notes.some((n) => /slices missing between InstanceNumber 3 and 9 \(a 7\.5 mm gap where slices are 2\.50 mm apart\)/.test(n)), gappy.notes.join(" "));
  await assert.rejects(readScan([...seriesFiles(voxels).slice(0, 2), ...seriesFiles(voxels, { uid: "9.9" }).slice(2)]), /mixes 2 DICOM series/);
  await assert.rejects(readScan(seriesFiles(voxels, { positions: false, instances: false })), /neither ImagePositionPatient nor InstanceNumber/);
  await assert.rejects(readScan(seriesFiles(voxels).slice(0, 1)), /single slice/);
  await assert.rejects(readScan([...seriesFiles(voxels), seriesFiles(voxels)[0]]), /same position/);
});

test("groupSeries sorts files into their series", async () => {
  const voxels = Array.from({ length: COUNT }, (_, i) => i + 1);
  const files = [...seriesFiles(voxels, { uid: "1.1" }), ...seriesFiles(voxels, { uid: "2.2" })];
  const read = await Promise.all(files.map(async (f) => {
    const bytes = new Uint8Array(await f.arrayBuffer());
    return { name: f.name, bytes, uid: seriesUid(bytes, f.name) };
  }));
  const groups = groupSeries([read[3], read[0], read[4], read[1], read[5], read[2]]);
  assert.deepEqual(groups.map((g) => [g.uid, g.items.length]), [["2.2", 3], ["1.1", 3]]);
  assert.equal((await readSeries(groups[1].items)).shape.join("x"), "4x5x3");
});

test("the head rule skips slices that are nearly empty", async () => {
  const voxels = new Array(COUNT).fill(0);
  for (let j = 0; j < 5; j += 1) for (let i = 0; i < 4; i += 1) voxels[at(i, j, 1)] = 500;
  voxels[at(0, 0, 0)] = 1; // one dim voxel: not a head
  const volume = await slicesOf(makeNifti({ shape: SHAPE, voxels }));
  assert.deepEqual([0, 1, 2].map((k) => hasHead(sliceImage(volume, k))), [false, true, false]);
});

test("header text and patient fields are not in what a scan returns", async () => {
  const scan = await readScan(new File([makeNifti({ shape: SHAPE, voxels: marker() })], "a.nii"));
  assert.ok(!JSON.stringify({ ...scan, volume: null }).includes(DESCRIPTION.slice(0, 8)));
  const series = await readScan(seriesFiles(marker().map((v) => v + 1)));
  assert.ok(!JSON.stringify({ ...series, volume: null }).includes(PATIENT_NAME.slice(0, 8)));
});
