// The results table as a whole: its order, the arrow keys between its file names, the batch's
// progress, CSV export and Clear. Each row is rows.js's.
import { resultsCsv } from "../shared/csv.js";
import { scanBatchRow } from "../shared/scanresults.js";
import { $, announce, downloadCsv, seconds } from "./dom.js";
import { sortRows } from "./sort.js";
import { state } from "./state.js";
import { showSummary } from "./summary.js";

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

/** Makes `link` the table's one Tab stop. */
export function makeTabStop(link) {
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
