// A scan's summary and CSV (scanresults.js): the figures mri/volumes.py summarize gives.
import assert from "node:assert/strict";
import { test } from "node:test";

import { resultsCsv } from "../js/shared/csv.js";
import { scanBatchRow, scanCsv, sliceName, summarizeScan, summaryText } from "../js/shared/scanresults.js";

const LABELS = ["glioma", "notumor"];
const slice = (index, p) => ({ index, label: p >= 0.5 ? "glioma" : "notumor", tumorProbability: p,
  probabilities: { glioma: p, notumor: 1 - p } });
const percent = (p) => `${(p * 100).toFixed(1)} %`;

test("the summary counts slices at or above the threshold and ranks the most likely", () => {
  const slices = [slice(2, 0.2), slice(3, 0.9), slice(4, 0.5), slice(5, 0.9), slice(6, 0.1)];
  const summary = summarizeScan(slices, 10, ["a note"]);
  assert.deepEqual(summary, {
    slices: 10, classified: 5, skipped: 5, threshold: 0.5, aboveThreshold: 3,
    mostLikely: [{ index: 3, tumorProbability: 0.9 }, { index: 5, tumorProbability: 0.9 }, { index: 4, tumorProbability: 0.5 }],
    notes: ["a note"],
  });
  const text = summaryText(summary, percent);
  assert.match(text, /^3 of 5 classified slices .* slice 4 \(90\.0 %\), slice 6 \(90\.0 %\), slice 5 \(50\.0 %\)\. 5 slices with too little head were not classified\. .*not a diagnosis\.$/);
  assert.match(summaryText(summarizeScan([], 4), percent), /None of the 4 slices/);
  // Nothing skipped: no "0 slices ... were not classified".
  const whole = summaryText(summarizeScan([slice(0, 0.9), slice(1, 0.1)], 2), percent);
  assert.doesNotMatch(whole, /not classified/);
  assert.match(whole, /: slice 1 \(90\.0 %\), slice 2 \(10\.0 %\)\. These are/);
});

test("slices are named from 1, with a DICOM slice's InstanceNumber and position where known", () => {
  assert.equal(sliceName(111, 155), "slice 112 of 155");
  assert.equal(sliceName(0, 3, { instance: 7, position: -12.25 }), "slice 1 of 3 (InstanceNumber 7, -12.3 mm)");
  assert.equal(sliceName(2, 3, { instance: null, position: 4 }), "slice 3 of 3 (4.0 mm)");
});

test("a scan's batch row: its most concerning slice's level and probabilities, its kind and slice count", () => {
  const metadata = { labels: LABELS, no_tumor_label: "notumor" };
  const slices = [slice(1, 0.2), slice(2, 0.95), slice(3, 0.4)];
  const scan = { size: { slices: 5 }, slices, summary: summarizeScan(slices, 5, ["a gap"]), level: null, reasons: [], ms: 1234.5 };
  const done = scanBatchRow({ name: "t1.nii.gz", kind: "nifti", status: "done", scan }, metadata);
  const failed = scanBatchRow({ name: "cut.nii.gz", kind: "nifti", status: "error", error: "cut short" }, metadata);
  const withheld = scanBatchRow({ name: "series", kind: "dicom", status: "done",
    scan: { ...scan, slices: [], summary: summarizeScan([], 5), level: "not-mri", reasons: ["a sagittal series"] } }, metadata);
  const lines = resultsCsv([done, failed, withheld], metadata, "v7").split("\r\n");
  assert.equal(lines[1], "t1.nii.gz,done,likely,glioma,0.950000,glioma,0.950000,0.050000,false,a gap,1234.5,,,likely,0.950000,,,,v7,0.5,0.3,nifti,5,3/5");
  assert.equal(lines[2], "cut.nii.gz,error,,,,,,,,,,,,,,cut short,,,v7,0.5,0.3,nifti,,");
  assert.equal(lines[3], "series,done,not-mri,,,,,,,a sagittal series,1234.5,,,,,,,,v7,0.5,0.3,dicom,5,");
});

test("the CSV has one line per slice of the volume, skipped ones said so", () => {
  const csv = scanCsv("=scan.nii", 3, [slice(1, 0.75)], LABELS).split("\r\n");
  assert.deepEqual(csv.slice(0, 4), [
    "scan,slice,index,instance_number,position_mm,status,label,tumor_probability,p_glioma,p_notumor",
    "'=scan.nii,1,0,,,skipped: too little head,,,,",
    "'=scan.nii,2,1,,,classified,glioma,0.750000,0.750000,0.250000",
    "'=scan.nii,3,2,,,skipped: too little head,,,,",
  ]);
  const info = [{ instance: 3, position: -1.5 }, { instance: 2, position: 0 }, { instance: 1, position: 1.5 }];
  assert.equal(scanCsv("s", 3, [], LABELS, info).split("\r\n")[1], "s,1,0,3,-1.5,skipped: too little head,,,,");
});

test("the summary counts against the threshold it is given (metadata.decision's, from the worker)", () => {
  const slices = [slice(0, 0.6), slice(1, 0.85), slice(2, 0.95)];
  const summary = summarizeScan(slices, 3, [], 0.8);
  assert.equal(summary.threshold, 0.8);
  assert.equal(summary.aboveThreshold, 2);
});
