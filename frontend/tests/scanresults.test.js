// A scan's summary and CSV (scanresults.js): the figures mri/volumes.py summarize gives.
import assert from "node:assert/strict";
import { test } from "node:test";

import { scanCsv, summarizeScan, summaryText } from "../js/shared/scanresults.js";

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
  assert.match(text, /^3 of 5 classified slices .* slice 3 \(90\.0 %\), slice 5 \(90\.0 %\), slice 4 \(50\.0 %\)\. 5 slices with too little head were not classified\. .*not a diagnosis\.$/);
  assert.match(summaryText(summarizeScan([], 4), percent), /None of the 4 slices/);
});

test("the CSV has one line per slice of the volume, skipped ones said so", () => {
  const csv = scanCsv("=scan.nii", 3, [slice(1, 0.75)], LABELS).split("\r\n");
  assert.deepEqual(csv.slice(0, 4), [
    "scan,slice,status,label,tumor_probability,p_glioma,p_notumor",
    "'=scan.nii,0,skipped: too little head,,,,",
    "'=scan.nii,1,classified,glioma,0.750000,0.750000,0.250000",
    "'=scan.nii,2,skipped: too little head,,,,",
  ]);
});

test("the summary counts against the threshold it is given (metadata.decision's, from the worker)", () => {
  const slices = [slice(0, 0.6), slice(1, 0.85), slice(2, 0.95)];
  const summary = summarizeScan(slices, 3, [], 0.8);
  assert.equal(summary.threshold, 0.8);
  assert.equal(summary.aboveThreshold, 2);
});
