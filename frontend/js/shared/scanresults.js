// A scan's per-slice results -> its summary and its CSV. DOM-free, tested by Node; the API's
// twin is mri/volumes.py summarize (same figures, snake_case keys).
import { toCsv } from "./csv.js";
import { DEFAULT_DECISION } from "./results.js";

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

/** The summary in words: what the figures are, not a diagnosis. */
export function summaryText(summary, percent) {
  if (!summary.classified) {
    return `None of the ${summary.slices} slices has enough head in it to classify.`;
  }
  const top = summary.mostLikely.map((s) => `slice ${s.index} (${percent(s.tumorProbability)})`).join(", ");
  return `${summary.aboveThreshold} of ${summary.classified} classified slices have a tumour probability at or ` +
    `above ${percent(summary.threshold)}. Slices the model rates most likely to show a tumour: ${top}. ` +
    `${summary.skipped} slice${summary.skipped === 1 ? "" : "s"} with too little head ${summary.skipped === 1 ? "was" : "were"} ` +
    "not classified. These are the model's per-slice outputs, not a diagnosis.";
}

/** One line per slice of the volume (skipped ones say so); `labels` is metadata.labels. */
export function scanCsv(name, total, slices, labels) {
  const byIndex = new Map(slices.map((s) => [s.index, s]));
  const header = ["scan", "slice", "status", "label", "tumor_probability", ...labels.map((l) => `p_${l}`)];
  const lines = [];
  for (let index = 0; index < total; index += 1) {
    const s = byIndex.get(index);
    lines.push(s
      ? [name, index, "classified", s.label, s.tumorProbability.toFixed(6), ...labels.map((l) => s.probabilities[l].toFixed(6))]
      : [name, index, "skipped: too little head", null, null, ...labels.map(() => null)]);
  }
  return toCsv([header, ...lines]);
}
