// The results table: one row per file, sortable, with the batch's progress, CSV export and Clear.
import { resultsCsv } from "../shared/csv.js";
import { scanBatchRow } from "../shared/scanresults.js";
import { $, announce, downloadCsv, element, seconds } from "./dom.js";
import { percent } from "../shared/format.js";
import { LEVEL_HEADLINES, uncertainties } from "../shared/results.js";
import { sortRows } from "./sort.js";
import { state } from "./state.js";
import { showSummary } from "./summary.js";

/** Builds `row.tr`; `onSelect(row)` runs when its file name is pressed. */
export function buildRow(row, onSelect) {
  const tr = element("tr");
  const link = element("button", { className: "row-link", text: row.name, attrs: { type: "button" } });
  link.addEventListener("click", () => onSelect(row));
  // The table is one Tab stop: the file names take turns being it (see wireTable's arrow keys).
  link.tabIndex = state.rows.length === 0 ? 0 : -1;
  link.addEventListener("focus", () => makeTabStop(link));
  row.link = link;
  tr.append(element("td", {}, [link]), element("td"), element("td", { className: "numeric" }), element("td"),
    element("td", { className: "numeric" }));
  row.tr = tr;
  updateRow(row);
}

const LEVEL_CLASS = { likely: "status-tumour", possible: "status-possible", none: "status-clear", "not-mri": "status-notmri" };
// The table's short form of the not-MRI level; the detail panel gives the reasons.
const SHORT_HEADLINE = { "not-mri": "No result: not an MRI slice?" };

const UNSURE_WORDS = { tumour: "tumour or not", type: "type", model: "top class" };

// Notes under the file name: the same bytes as another row; a multi-frame file's frames.
function rowNotes(row) {
  const notes = [];
  if (row.duplicateOf) notes.push(`Same file as ${row.duplicateOf} (identical bytes).`);
  if (row.result && row.frames > 1) {
    let text = `Frame ${row.frame + 1} of ${row.frames} shown.`;
    if (row.worst && row.worst.frame !== row.frame) {
      const worst = row.worst.level === "not-mri" ? "no result" : `${LEVEL_HEADLINES[row.worst.level]}, ${percent(row.worst.tumorProbability)}`;
      text += ` Most concerning: frame ${row.worst.frame + 1} (${worst}).`;
    } else if (row.worst) {
      text += " It is the most concerning frame.";
    }
    notes.push(text);
  }
  return notes.map((text) => element("div", { className: "row-note", text }));
}

export function updateRow(row) {
  const [nameCell, verdictCell, tumourCell, typeCell, msCell] = row.tr.cells;
  nameCell.replaceChildren(row.link, ...rowNotes(row));
  const rest = [tumourCell, typeCell, msCell];
  if (row.status === "error") {
    nameCell.append(element("div", { className: "status-error", text: row.error }));
    verdictCell.replaceChildren(element("span", { className: "status-error", text: row.unsupported ? "Not an image" : "Could not be read" }));
    rest.forEach((cell) => cell.replaceChildren());
    return;
  }
  if (!row.result) {
    verdictCell.textContent = row.status === "running" ? "Classifying…" : "Waiting…";
    rest.forEach((cell) => cell.replaceChildren());
    return;
  }
  // The worker gave the result its verdict (level, likely type); the table only words it.
  const { level, likelyType, typeProbability } = row.result;
  // What is uncertain, in a word or two; the detail panel says why.
  const unsure = state.metadata ? uncertainties(row.result, state.metadata).map((u) => UNSURE_WORDS[u.about]) : [];
  if (unsure.length) nameCell.append(" ", element("span", { className: "flag", text: `uncertain: ${unsure.join(", ")}` }));
  verdictCell.replaceChildren(element("span", {
    className: LEVEL_CLASS[level], text: SHORT_HEADLINE[level] ?? LEVEL_HEADLINES[level] }));
  tumourCell.textContent = level !== "not-mri" ? percent(row.result.tumorProbability) : "–";
  typeCell.textContent = likelyType ? `${likelyType} · ${percent(typeProbability)}` : "–";
  msCell.textContent = row.result.ms.toFixed(1);
}

export function updateProgress() {
  const rows = [...state.rows, ...state.scans]; // a scan counts as one item, a failed one as failed
  const finished = rows.filter((r) => r.status === "done" || r.status === "error").length;
  const failed = rows.filter((r) => r.status === "error" && !r.unsupported).length;
  const progress = $("progress");
  progress.max = Math.max(rows.length, 1);
  progress.value = finished;
  const parts = [`${finished} of ${rows.length} done`];
  if (failed) parts.push(`${failed} could not be read`);
  if (rows.length) parts.push(seconds(performance.now() - state.batchStarted));
  $("progress-label").textContent = rows.length ? parts.join(" · ") : "No images yet.";
  $("export-csv").disabled = finished === 0;
  showSummary();
}

export function applySort() {
  if (!state.sort) return;
  $("results-body").append(...sortRows(state.rows, state.sort.key, state.sort.direction).map((row) => row.tr));
}

function makeTabStop(link) {
  for (const other of document.querySelectorAll("#results-body .row-link")) other.tabIndex = other === link ? 0 : -1;
}

// Arrow keys, Home and End move between the file names, in the table's current order.
function moveFocus(event) {
  const links = [...document.querySelectorAll("#results-body .row-link")];
  const at = links.indexOf(document.activeElement);
  if (at < 0) return;
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: links.length - 1 }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  links[Math.max(0, Math.min(links.length - 1, to))].focus();
}

export function wireTable() {
  $("results-body").addEventListener("keydown", moveFocus);
  for (const th of document.querySelectorAll("#results th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      const direction = state.sort?.key === key ? -state.sort.direction : 1;
      state.sort = { key, direction };
      for (const other of document.querySelectorAll("#results th[data-key]")) other.setAttribute("aria-sort", "none");
      th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
      applySort();
    });
  }

  $("export-csv").addEventListener("click", () => {
    const ordered = state.sort ? sortRows(state.rows, state.sort.key, state.sort.direction) : state.rows;
    const scans = state.scans.map((scan) => scanBatchRow(scan, state.metadata)); // one summary line per scan
    downloadCsv(resultsCsv([...ordered, ...scans], state.metadata, state.version), "mri-classification.csv");
  });

  $("clear").addEventListener("click", () => {
    state.queue.length = 0;
    state.rows.length = 0;
    state.selected = null;
    state.contentKeys.clear();
    state.skipped.length = 0;
    $("skipped").hidden = true;
    $("results-body").replaceChildren();
    $("results-panel").hidden = true;
    $("detail").hidden = true;
    $("clear").disabled = true;
    updateProgress();
    announce("Cleared.");
  });
}
