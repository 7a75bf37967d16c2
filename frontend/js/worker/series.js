// A DICOM series (files of one or more frames) -> voxels and affine: the JavaScript twin of
// mri/dicom_series.py.
//
// Files are grouped by SeriesInstanceUID (groupSeries); within one series, frames are ordered by
// their position along the slice normal (ImagePositionPatient on ImageOrientationPatient's
// normal, per frame for enhanced multi-frame files), where positions repeat or are missing by
// SliceLocation, then InstanceNumber (said in the notes). A gap wider than 1.5 times the usual
// spacing is said in the notes and the series opens; frames no key tells apart are refused. Only
// pixel-describing and geometry tags are read: never a patient, study or institution field.
// Compressed files are decoded frame by frame (codecs.js); JPEG baseline is not read as a scan.
import dicomParser from "../../vendor/dicom-parser.js";
import { decodeDicomFrame, readDicom } from "./dicom.js";
import { headerOf, judgeSeries } from "../shared/scope.js";
import { MAX_VOXELS, VolumeError } from "./volume.js";

const GAP_FACTOR = 1.5;
const AXIAL_ORIENTATION = [1, 0, 0, 0, 1, 0];
const TAG = {
  seriesUid: "x0020000e",
  instanceNumber: "x00200013",
  sliceLocation: "x00201041",
  position: "x00200032",
  orientation: "x00200037",
  pixelSpacing: "x00280030",
  rescaleIntercept: "x00281052",
  rescaleSlope: "x00281053",
  sharedGroups: "x52009229",
  perFrameGroups: "x52009230",
  planePosition: "x00209113",
  planeOrientation: "x00209116",
  pixelMeasures: "x00289110",
  pixelTransformation: "x00289145",
};

// `untilTag`: stop at that element (the split reads a header no further than its series).
function parse(bytes, name, untilTag = undefined) {
  try {
    return dicomParser.parseDicom(bytes, { untilTag });
  } catch (err) {
    throw new VolumeError(`${name} is not a readable DICOM file (${err?.exception ?? err?.message ?? String(err)}).`);
  }
}

function numbers(dataSet, tag, count) {
  if (!dataSet?.elements[tag]) return null;
  const values = [];
  for (let i = 0; i < count; i += 1) values.push(dataSet.floatString(tag, i));
  return values.every(Number.isFinite) ? values : null;
}

const firstItem = (dataSet, tag) => dataSet?.elements[tag]?.items?.[0]?.dataSet ?? null;

/** The series a DICOM file belongs to, without reading its pixels ("" when it names none). */
export function seriesUid(bytes, name) {
  return parse(bytes, name, TAG.seriesUid).string(TAG.seriesUid) ?? "";
}

/**
 * One file (Uint8Array) -> its frames: [{stored, slope, intercept, position, orientation, spacing,
 * instance, order, series, rows, columns}].
 */
export async function readFrames(bytes, name, fileIndex) {
  const dataSet = parse(bytes, name);
  const first = await readDicomFrame(bytes, name, 0, dataSet);
  if (first.color) throw new VolumeError(`${name} is a colour image, not an MRI slice.`);
  const { width: columns, height: rows, frames } = first;
  if (rows * columns * frames > MAX_VOXELS) {
    throw new VolumeError(`${name} claims ${columns}x${rows} pixels in ${frames} frame(s), more than a brain MRI series has; check the file.`);
  }
  const shared = firstItem(dataSet, TAG.sharedGroups);
  const perFrame = dataSet.elements[TAG.perFrameGroups]?.items ?? [];
  const series = dataSet.string(TAG.seriesUid) ?? "";
  const instanceText = dataSet.intString(TAG.instanceNumber);
  const instance = Number.isFinite(instanceText) ? instanceText : null;
  const locationText = dataSet.floatString(TAG.sliceLocation);
  const location = Number.isFinite(locationText) ? locationText : null;
  // An enhanced file's per-frame, then shared functional group, then the classic top level.
  const tag = (group, attribute, count, frame) => {
    const groups = [perFrame[frame]?.dataSet, shared].filter(Boolean).map((g) => firstItem(g, group));
    for (const item of [...groups, dataSet]) {
      const value = numbers(item, attribute, count);
      if (value) return value;
    }
    return null;
  };
  const out = [];
  const header = headerOf(dataSet);
  for (let f = 0; f < frames; f += 1) {
    const frame = f === 0 ? first : await readDicomFrame(bytes, name, f, dataSet);
    out.push({
      stored: frame.stored,
      slope: tag(TAG.pixelTransformation, TAG.rescaleSlope, 1, f)?.[0] || 1,
      intercept: tag(TAG.pixelTransformation, TAG.rescaleIntercept, 1, f)?.[0] || 0,
      position: tag(TAG.planePosition, TAG.position, 3, f),
      orientation: tag(TAG.planeOrientation, TAG.orientation, 6, f),
      spacing: tag(TAG.pixelMeasures, TAG.pixelSpacing, 2, f) ?? [1, 1],
      instance,
      location,
      order: [fileIndex, f],
      series,
      rows,
      columns,
      name,
      header,
    });
  }
  return out;
}

// One frame's stored values; compressed frames are decoded (codecs.js) one at a time.
async function readDicomFrame(bytes, name, frame, dataSet) {
  try {
    const dicom = await decodeDicomFrame(readDicom(bytes, { name, frame, dataSet }), name);
    if (dicom.jpeg) {
      throw new VolumeError(`${name} is JPEG baseline (lossy) compressed, which the page reads as single images but ` +
        "not as a scan; export the series uncompressed or lossless (dcmdjpeg in.dcm out.dcm).");
    }
    return dicom;
  } catch (err) {
    if (err instanceof VolumeError) throw err;
    throw new VolumeError(err.message);
  }
}

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const byOrder = (a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1];

function distinct(values) {
  const ordered = [...values].sort((a, b) => a - b);
  return ordered.slice(1).every((v, i) => Math.abs(v - ordered[i]) > 1e-4);
}

const median = (values) => {
  const ordered = [...values].sort((a, b) => a - b);
  const middle = ordered.length >> 1;
  return ordered.length % 2 ? ordered[middle] : (ordered[middle - 1] + ordered[middle]) / 2;
};

// The frames' order, the slice spacing and notes: by position along the normal, else (when
// positions repeat or are missing) SliceLocation, else InstanceNumber; a gap is said, not refused.
function sliceOrder(frames, normal, label) {
  const keys = [
    ["position", "ImagePositionPatient", frames.map((f) => (f.position ? dot(f.position, normal) : null))],
    ["location", "SliceLocation", frames.map((f) => f.location)],
    ["instance", "InstanceNumber", frames.map((f) => f.instance)],
  ];
  const present = keys.filter(([, , values]) => values.every((v) => v !== null));
  if (!present.length) {
    throw new VolumeError(`${label}: its files carry neither ImagePositionPatient nor InstanceNumber, so the slice ` +
      "order is unknown; export the series with position tags.");
  }
  const chosen = present.find(([, , values]) => distinct(values));
  if (!chosen) {
    throw new VolumeError(`${label} has two slices at the same position; it holds duplicate files or more than one scan: drop one series at a time.`);
  }
  const [kind, tag, values] = chosen;
  const notes = [];
  if (kind !== "position") {
    notes.push(`${label}: ImagePositionPatient ${present[0][0] === "position" ? "repeats" : "is missing"}, so the slices are ordered by ${tag}.`);
  }
  const order = frames.map((_, i) => i).sort((a, b) => values[a] - values[b] || byOrder(frames[a], frames[b]));
  const steps = order.slice(1).map((i, k) => values[i] - values[order[k]]);
  const usual = kind === "instance" ? 1 : median(steps);
  steps.forEach((step, g) => {
    if (!(step > GAP_FACTOR * usual)) return;
    const [before, after] = [frames[order[g]], frames[order[g + 1]]];
    const where = before.instance !== null && after.instance !== null
      ? `InstanceNumber ${before.instance} and ${after.instance}` : `${before.name} and ${after.name}`;
    const size = kind === "instance" ? "" : ` (a ${step.toFixed(1)} mm gap where slices are ${usual.toFixed(2)} mm apart)`;
    notes.push(`${label}: slices missing between ${where}${size}; the slices either side are shown next to each other.`);
  });
  return { order, spacing: usual, notes };
}

/**
 * Frames -> {frames (sorted), affine (voxel-to-RAS), notes, slices: [{instance, position}] in
 * that order (InstanceNumber, position in mm along the slice normal; null where the header gives
 * none)}; VolumeError for mixed series or gaps.
 */
export function orderFrames(frames, label) {
  const series = new Set(frames.map((f) => f.series));
  if (series.size > 1) {
    throw new VolumeError(`${label} mixes ${series.size} DICOM series; drop the files of one series (one folder per series) at a time.`);
  }
  const sizes = new Set(frames.map((f) => `${f.columns}x${f.rows}`));
  if (sizes.size > 1) throw new VolumeError(`${label} has slices of different sizes (${[...sizes].sort().join(", ")}); it is not one series.`);
  if (frames.length < 2) throw new VolumeError(`${label} is a single slice, not a series; classify it as an image instead.`);
  const notes = [];
  let orientation = frames.find((f) => f.orientation)?.orientation;
  if (!orientation) {
    orientation = AXIAL_ORIENTATION;
    notes.push(`${label}: no ImageOrientationPatient; the slices are taken as axial.`);
  }
  const rowDir = orientation.slice(0, 3);
  const colDir = orientation.slice(3, 6);
  const normal = cross(rowDir, colDir);
  const { order, spacing, notes: more } = sliceOrder(frames, normal, label);
  notes.push(...more);
  const sorted = order.map((i) => frames[i]);
  const [rowSpacing, columnSpacing] = frames[0].spacing;
  // Voxel axes i (columns), j (rows), k (slices) in DICOM's LPS, then LPS -> RAS.
  const columns = [rowDir.map((v) => v * columnSpacing), colDir.map((v) => v * rowSpacing), normal.map((v) => v * spacing)];
  const affine = [0, 1, 2].map((w) => [...columns.map((axis) => (w < 2 ? -axis[w] : axis[w])), 0]);
  affine.push([0, 0, 0, 1]);
  const slices = sorted.map((f) => ({ instance: f.instance, position: f.position ? dot(f.position, normal) : null }));
  return { frames: sorted, affine, notes, slices };
}

/**
 * [{name, bytes}] of one series, in any order -> {data: Float64Array [i, j, k], shape, affine,
 * notes, scope, slices (orderFrames')}, ready for volume.js scaledAxialSlices.
 */
export async function readSeries(files, label = "the series") {
  const frames = [];
  for (const [i, { name, bytes }] of files.entries()) frames.push(...await readFrames(bytes, name, i));
  const { frames: sorted, affine, notes, slices } = orderFrames(frames, label);
  const { rows, columns } = sorted[0];
  const size = rows * columns;
  const data = new Float64Array(size * sorted.length);
  sorted.forEach((frame, k) => {
    const { stored, slope, intercept } = frame;
    const base = k * size;
    for (let p = 0; p < size; p += 1) data[base + p] = stored[p] * slope + intercept;
    frame.stored = null; // each frame's copy goes as soon as it is in the volume
  });
  // The series is judged as a whole, one header per file (scope.js).
  const scope = judgeSeries([...new Set(sorted.map((frame) => frame.header))]);
  return { data, shape: [columns, rows, sorted.length], affine, notes, scope, slices };
}

/** Groups items ({uid, ...}) by their SeriesInstanceUID: [{uid, items}], in first-seen order. */
export function groupSeries(items) {
  const groups = new Map();
  for (const item of items) {
    if (!groups.has(item.uid)) groups.set(item.uid, { uid: item.uid, items: [] });
    groups.get(item.uid).items.push(item);
  }
  return [...groups.values()];
}
