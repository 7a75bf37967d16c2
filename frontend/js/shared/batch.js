// A batch as a researcher reads it: the tally by result, and, where the folder names are labels
// (glioma/, notumor/, yes/, no/, tumour/, normal/, ...), the confusion table of folder label x
// the page's answer with tumour sensitivity and specificity. DOM-free, tested by Node.
import { percent } from "./format.js";

// What a row can come to: a result level, a file that could not be read, a file that is no image.
export const OUTCOMES = Object.freeze(["likely", "possible", "none", "not-mri", "failed", "unsupported"]);

export const OUTCOME_WORDS = Object.freeze({
  likely: "Tumour likely",
  possible: "Possible tumour",
  none: "No tumour found",
  "not-mri": "No verdict (not an MRI slice?)",
  failed: "Could not be read",
  unsupported: "Not an image",
});

/** A table row -> its outcome (one of OUTCOMES), or null while it waits to be classified. */
export function outcomeOf(row) {
  if (row.status === "error") return row.unsupported ? "unsupported" : "failed";
  return row.status === "done" && row.result ? row.result.level : null;
}

/** Rows -> {likely, possible, none, "not-mri", failed, unsupported, waiting, total}: how many of each. */
export function tallyOf(rows) {
  const tally = Object.fromEntries([...OUTCOMES, "waiting"].map((key) => [key, 0]));
  for (const row of rows) tally[outcomeOf(row) ?? "waiting"] += 1;
  return { ...tally, total: rows.length };
}

/** The tally in a line: the three verdicts always, the rest when there are any. */
export function tallyLine(tally) {
  const parts = OUTCOMES.filter((key) => tally[key] || ["likely", "possible", "none"].includes(key))
    .map((key) => `${OUTCOME_WORDS[key]}: ${tally[key]}`);
  if (tally.waiting) parts.push(`waiting: ${tally.waiting}`);
  return parts.join(" · ");
}

// Folder names that say "no tumour" or "tumour, type not given", compared as lower-case letters only.
const NO_TUMOUR_FOLDERS = new Set(["no", "normal", "notumor", "notumour", "healthy", "negative"]);
const TUMOUR_FOLDERS = new Set(["yes", "tumor", "tumour", "tumors", "tumours", "positive", "abnormal"]);
// The label of a tumour folder whose type is not given (yes/, tumour/).
export const ANY_TUMOUR = "tumour";

const letters = (name) => name.toLowerCase().replace(/[^a-z]/g, "");

/**
 * A file's path -> {label, tumour} from the innermost folder named like a class: a tumour label of
 * the model (also "glioma_tumor"), the model's no-tumour label or a synonym (no/, normal/), or a
 * tumour folder without a type (yes/, tumour/: label ANY_TUMOUR); null when no folder is.
 */
export function folderLabel(path, metadata) {
  const types = metadata.labels.filter((label) => label !== metadata.no_tumor_label);
  const folders = String(path).split(/[\\/]/).slice(0, -1).reverse();
  for (const folder of folders) {
    const name = letters(folder);
    if (name === letters(metadata.no_tumor_label) || NO_TUMOUR_FOLDERS.has(name)) {
      return { label: metadata.no_tumor_label, tumour: false };
    }
    const type = types.find((label) => [letters(label), `${letters(label)}tumor`, `${letters(label)}tumour`].includes(name));
    if (type) return { label: type, tumour: true };
    if (TUMOUR_FOLDERS.has(name)) return { label: ANY_TUMOUR, tumour: true };
  }
  return null;
}

const rate = (count, of) => ({ count, of, rate: of ? count / of : null });

/**
 * The batch's rows -> the confusion table, or null when no finished row sits in a label folder:
 * {rows: [{label, tumour, counts: {outcome: n} (no "unsupported"), typeRight, typeAnswers}],
 * unlabelled, excluded, screening: {possible, likely}}. `screening.possible` counts "possible
 * tumour" as tumour, `screening.likely` only "tumour likely"; each is {sensitivity, specificity},
 * {count, of, rate}, over the rows with a verdict (no verdict and unreadable files are `excluded`).
 * `typeRight` of `typeAnswers`: tumour answers whose likely type is the folder's type.
 */
export function confusionOf(rows, metadata) {
  const byLabel = new Map();
  let unlabelled = 0;
  for (const row of rows) {
    const outcome = outcomeOf(row);
    if (outcome === null || outcome === "unsupported") continue;
    const truth = folderLabel(row.name, metadata);
    if (!truth) {
      unlabelled += 1;
      continue;
    }
    if (!byLabel.has(truth.label)) {
      const counts = Object.fromEntries(OUTCOMES.slice(0, 5).map((key) => [key, 0]));
      byLabel.set(truth.label, { ...truth, counts, typeRight: 0, typeAnswers: 0 });
    }
    const entry = byLabel.get(truth.label);
    entry.counts[outcome] += 1;
    if (truth.label !== ANY_TUMOUR && truth.tumour && (outcome === "likely" || outcome === "possible")) {
      entry.typeAnswers += 1;
      if (row.result.likelyType === truth.label) entry.typeRight += 1;
    }
  }
  if (!byLabel.size) return null;
  const order = [...metadata.labels, ANY_TUMOUR];
  const table = [...byLabel.values()].sort((a, b) => order.indexOf(a.label) - order.indexOf(b.label));
  const sum = (tumour, keys) => table.filter((r) => r.tumour === tumour)
    .reduce((total, r) => total + keys.reduce((s, key) => s + r.counts[key], 0), 0);
  const verdicts = ["likely", "possible", "none"];
  const screening = {
    possible: { sensitivity: rate(sum(true, ["likely", "possible"]), sum(true, verdicts)),
      specificity: rate(sum(false, ["none"]), sum(false, verdicts)) },
    likely: { sensitivity: rate(sum(true, ["likely"]), sum(true, verdicts)),
      specificity: rate(sum(false, ["possible", "none"]), sum(false, verdicts)) },
  };
  const excluded = sum(true, ["not-mri", "failed"]) + sum(false, ["not-mri", "failed"]);
  return { rows: table, unlabelled, excluded, screening };
}

const rateText = ({ count, of, rate: r }) => (of ? `${count} of ${of} (${percent(r)})` : "none to count");

/** confusionOf's sensitivity and specificity, and what was left out, in sentences. */
export function screeningSentences(confusion) {
  const { screening, excluded, unlabelled, rows } = confusion;
  const said = ({ sensitivity, specificity }) =>
    `sensitivity ${rateText(sensitivity)} tumour-folder images, specificity ${rateText(specificity)} no-tumour-folder images`;
  const sentences = [
    `Counting "possible tumour" as tumour: ${said(screening.possible)}.`,
    `Counting only "tumour likely": ${said(screening.likely)}.`,
  ];
  const typeAnswers = rows.reduce((s, r) => s + r.typeAnswers, 0);
  if (typeAnswers) {
    const right = rows.reduce((s, r) => s + r.typeRight, 0);
    sentences.push(`The likely type is the folder's in ${right} of ${typeAnswers} tumour answers (${percent(right / typeAnswers)}).`);
  }
  const left = [];
  if (excluded) left.push(`${excluded} labelled file${excluded === 1 ? "" : "s"} with no verdict or unreadable`);
  if (unlabelled) left.push(`${unlabelled} file${unlabelled === 1 ? "" : "s"} outside label folders`);
  if (left.length) sentences.push(`Not counted: ${left.join("; ")}.`);
  return sentences;
}
