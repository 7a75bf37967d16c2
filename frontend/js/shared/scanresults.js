// A scan's per-slice results -> its summary, its verdict, its row in the batch CSV and its own
// CSV. DOM-free, tested by Node; the API's twin is mri/volumes.py summarize (same figures,
// snake_case keys). Slice `index` is 0-based (the volume's own order, so results match a mask);
// what a person reads numbers slices from 1.
import { toCsv } from "./csv.js";
import { DEFAULT_DECISION, RELIABILITY, resultLevel, tumourVerdict } from "./results.js";

export const MOST_LIKELY = 3;

/**
 * slices: [{index, tumorProbability}] of the classified slices; total: slices in the volume;
 * threshold: the cut-off for "likely" single images use (decisionOf(metadata).tumour).
 * -> {slices, classified, skipped, threshold, aboveThreshold, mostLikely: [{index, tumorProbability}], notes}.
 */
export function summarizeScan(slices, total, notes = [], threshold = DEFAULT_DECISION.tumor_threshold, top = MOST_LIKELY) {
  const ranked = [...slices].sort((a, b) => b.tumorProbability - a.tumorProbability || a.index - b.index);
  return {
    slices: total,
    classified: slices.length,
    skipped: total - slices.length,
    threshold,
    aboveThreshold: slices.filter((s) => s.tumorProbability >= threshold).length,
    mostLikely: ranked.slice(0, top).map(({ index, tumorProbability }) => ({ index, tumorProbability })),
    notes: [...notes],
  };
}

/**
 * A slice in words, numbered from 1: "slice 112 of 155", with a DICOM slice's InstanceNumber and
 * position along the slice normal when its header gives them (`info`: {instance, position}).
 */
export function sliceName(index, total, info = null) {
  const extra = [];
  if (info?.instance != null) extra.push(`InstanceNumber ${info.instance}`);
  if (info?.position != null) extra.push(`${info.position.toFixed(1)} mm`);
  return `slice ${index + 1} of ${total}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

/** The summary in words: what the figures are, not a diagnosis. */
export function summaryText(summary, percent) {
  if (!summary.classified) {
    return `None of the ${summary.slices} slices has enough head in it to classify.`;
  }
  const top = summary.mostLikely.map((s) => `slice ${s.index + 1} (${percent(s.tumorProbability)})`).join(", ");
  const skipped = summary.skipped
    ? `${summary.skipped} slice${summary.skipped === 1 ? "" : "s"} with too little head ${summary.skipped === 1 ? "was" : "were"} not classified. `
    : "";
  return `${summary.aboveThreshold} of ${summary.classified} classified slices have a tumour probability at or ` +
    `above ${percent(summary.threshold)}. Slices the model rates most likely to show a tumour: ${top}. ` +
    `${skipped}These are the model's per-slice outputs, not a diagnosis.`;
}

/** A classified slice with the verdict single images get by the same cut-offs: {...slice, level, likelyType, typeProbability}. */
export function sliceVerdict(slice, metadata) {
  const level = resultLevel(slice, metadata);
  const { likelyType, typeProbability } = tumourVerdict({ ...slice, level }, metadata);
  return { ...slice, level, likelyType, typeProbability };
}

/**
 * A scan's record on the page ({name, kind, status, scan?, error?}; `scan` is classifyScan's
 * answer) -> a row for shared/csv.js resultsCsv: its level is its most concerning slice's (the
 * highest tumour probability), "not-mri" when the headers withhold a verdict, none when no slice
 * was classified; `worstSlice` is that slice, `slices` the volume's count.
 */
export function scanBatchRow({ name, kind, status, scan = null, error = null }, metadata) {
  const row = { name, kind, status, error, result: null, frames: 1, frame: null, worst: null, slices: scan?.size.slices ?? null, worstSlice: null };
  if (!scan) return row;
  const worstIndex = scan.summary.mostLikely[0]?.index;
  const worst = scan.slices.find((s) => s.index === worstIndex);
  const notes = scan.summary.notes;
  if (scan.level === "not-mri" || !worst) {
    const level = scan.level === "not-mri" ? "not-mri" : null;
    return { ...row, result: { level, probabilities: {}, warnings: [...scan.reasons, ...notes], ms: scan.ms, uncertain: null } };
  }
  const verdict = sliceVerdict(worst, metadata);
  const worstSlice = { index: worst.index, level: verdict.level, tumorProbability: worst.tumorProbability };
  const uncertain = Math.max(...Object.values(worst.probabilities)) < RELIABILITY.minConfidence;
  return { ...row, worstSlice, result: { ...verdict, warnings: notes, ms: scan.ms, uncertain } };
}

// A position in mm as a number (a string "-1.500" would be defused as a formula by csvField).
const roundMm = (mm) => (mm == null ? null : Math.round(mm * 1000) / 1000);

/**
 * One line per slice of the volume (skipped ones say so); `labels` is metadata.labels; `info`
 * a DICOM series' [{instance, position}] per slice, if known. `slice` counts from 1, `index` from 0.
 */
export function scanCsv(name, total, slices, labels, info = null) {
  const byIndex = new Map(slices.map((s) => [s.index, s]));
  const header = ["scan", "slice", "index", "instance_number", "position_mm", "status", "label", "tumor_probability",
    ...labels.map((l) => `p_${l}`)];
  const lines = [];
  for (let index = 0; index < total; index += 1) {
    const s = byIndex.get(index);
    const where = [name, index + 1, index, info?.[index]?.instance, roundMm(info?.[index]?.position)];
    lines.push(s
      ? [...where, "classified", s.label, s.tumorProbability.toFixed(6), ...labels.map((l) => s.probabilities[l].toFixed(6))]
      : [...where, "skipped: too little head", null, null, ...labels.map(() => null)]);
  }
  return toCsv([header, ...lines]);
}
