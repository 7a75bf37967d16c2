// The batch table as CSV (RFC 4180). DOM-free, tested by Node.
import { folderLabel } from "./batch.js";
import { decisionOf, uncertainties } from "./results.js";

// A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"); file
// names are user data, so such text gets a leading apostrophe, which spreadsheets hide.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One value as a CSV field: quoted when it holds a comma, quote, line break, edge space or "#"
 * (so that pandas.read_csv(comment="#") keeps a file name with "#" whole).
 */
export function csvField(value) {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n#]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows of values -> CSV text with CRLF line ends. */
export function toCsv(rows) {
  return rows.map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

const frameOf = (row, frame) => (row.frames > 1 && frame != null ? `${frame + 1}/${row.frames}` : null);

/**
 * The batch as CSV: one line per file, in the table's order. `rows` are the page's table rows
 * ({name, status, result?, error?, frame?, frames, worst?}); `version` the model's (hash.js
 * modelVersion). For a multi-frame file, `frame` is the frame the other columns describe and
 * `worst_*` the frame with the highest tumour probability. A not-MRI row has no `label`: its top
 * class is no verdict. Every line names the model version and the cut-offs, so that files of
 * several batches can be put together.
 * A scan's row (shared/scanresults.js scanBatchRow) has its `kind`, its `slices` and, in
 * `worst_slice` (counted from 1), its most concerning slice.
 */
export function resultsCsv(rows, metadata, version) {
  const { labels } = metadata;
  const { tumour, possible } = decisionOf(metadata);
  const header = ["file", "status", "level", "label", "tumor_probability", "likely_type", ...labels.map((l) => `p_${l}`),
    "uncertain", "warnings", "ms", "frame", "worst_frame", "worst_level", "worst_tumor_probability", "error",
    "folder_label", "uncertain_about", "model_version", "tumor_threshold", "possible_threshold",
    "kind", "slices", "worst_slice"];
  const lines = rows.map((row) => {
    const r = row.result;
    return [
      row.name,
      row.status,
      r?.level,
      r?.level === "not-mri" ? null : r?.label,
      r?.tumorProbability?.toFixed(6),
      r?.likelyType,
      ...labels.map((label) => r?.probabilities[label]?.toFixed(6)),
      r?.uncertain != null ? String(r.uncertain) : null,
      r?.warnings.join(" "),
      r ? r.ms.toFixed(1) : null,
      r ? frameOf(row, row.frame) : null,
      r ? frameOf(row, row.worst?.frame) : null,
      r ? (row.worst ?? row.worstSlice)?.level : null,
      r ? (row.worst ?? row.worstSlice)?.tumorProbability.toFixed(6) : null,
      row.error,
      folderLabel(row.name, metadata)?.label,
      r ? uncertainties(r, metadata).map((u) => u.about).join(" ") : null,
      version,
      tumour,
      possible,
      row.kind ?? "image",
      row.slices,
      row.worstSlice ? `${row.worstSlice.index + 1}/${row.slices}` : null,
    ];
  });
  return toCsv([header, ...lines]);
}
