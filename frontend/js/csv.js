// The batch table as CSV (RFC 4180). DOM-free, tested by Node.

// A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"); file
// names are user data, so such text gets a leading apostrophe, which spreadsheets hide.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One value as a CSV field: quoted when it holds a comma, quote, line break or edge space. */
export function csvField(value) {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows of values -> CSV text with CRLF line ends. */
export function toCsv(rows) {
  return rows.map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/**
 * The batch as CSV: one line per file, in the table's order. `rows` are the page's table rows
 * ({name, status, result?, warnings?, error?, frame?}); `labels` is metadata.labels.
 */
export function resultsCsv(rows, labels) {
  const header = ["file", "status", "label", "tumor_probability", ...labels.map((l) => `p_${l}`),
    "uncertain", "warnings", "ms", "frame", "error"];
  const lines = rows.map((row) => {
    const r = row.result;
    return [
      row.name,
      row.status,
      r?.label,
      r?.tumorProbability?.toFixed(6),
      ...labels.map((label) => (r ? r.probabilities[label].toFixed(6) : null)),
      r ? String(r.uncertain) : null,
      r?.warnings.join(" "),
      r ? r.ms.toFixed(1) : null,
      row.frames > 1 ? `${row.frame + 1}/${row.frames}` : null,
      row.error,
    ];
  });
  return toCsv([header, ...lines]);
}
