// The batch's rows: each file from the drop to its label. Which files of a drop become rows (the
// rest are skipped, or scans for the scan view), the row in the table, the queue that sends each
// image to the classifier, and the row drawn again with the answer. The maths is the DOM-free
// modules'; the table as a whole (order, keys, progress, CSV, Clear) is table.js's.
import { select, showDetail } from "./detail.js";
import { $, announce, element } from "./dom.js";
import { skippedLine, sortDrop, unsupportedMessage } from "../shared/files.js";
import { percent } from "../shared/format.js";
import { contentKey } from "../shared/hash.js";
import { LEVEL_HEADLINES, uncertainties } from "../shared/results.js";
import { startScanView } from "./scanview.js";
import { concernOf } from "./sort.js";
import { state } from "./state.js";
import { applySort, makeTabStop, updateProgress } from "./table.js";

let scanView = null;
// Each added row's bytes are read and keyed in turn (noteDuplicate), beside the classification.
let keying = Promise.resolve();

/** Starts the scan view, which takes the scans out of every batch of files. */
export function startRows(classifier) {
  scanView = startScanView(classifier);
}

/** Files from any way in (input.js, examples.js): images become rows; scans go to the scan view. */
export async function addFiles(files) {
  const { kept, scans, skipped, unsupported } = await sortDrop([...files]);
  if (skipped.length) {
    state.skipped.push(...skipped);
    $("skipped").textContent = skippedLine(state.skipped);
    $("skipped").hidden = false;
  }
  // Only the files whose first bytes may make them scans wait for the worker's split.
  const maybe = new Set(scans);
  const images = new Set(scans.length ? await scanView.take(scans) : []);
  addImages(kept.filter((file) => !maybe.has(file) || images.has(file)), unsupported);
}

/** A table row for a file. `worst`: a multi-frame file's frame with the highest concern. */
function newRow(file) {
  return { file, name: file.webkitRelativePath || file.name, status: "queued", result: null,
    error: null, unsupported: false, frame: null, frames: 1, worst: null, duplicateOf: null, explanations: new Map(),
    tr: null, link: null, answer: null };
}

// Images join the queue; documents (PDF, text, ...) get a row saying what to do instead, after them.
function addImages(images, unsupported = []) {
  const added = [...images, ...unsupported];
  if (!added.length) return;
  const wasEmpty = state.rows.length === 0;
  for (const file of added) {
    const row = newRow(file);
    if (unsupported.includes(file)) Object.assign(row, { status: "error", unsupported: true, error: unsupportedMessage(row.name) });
    buildRow(row);
    state.rows.push(row);
    $("results-body").append(row.tr);
    if (row.unsupported) continue;
    state.queue.push(row);
    keying = keying.then(() => noteDuplicate(row));
  }
  $("results-panel").hidden = false;
  $("clear").disabled = false;
  if (!state.running) state.batchStarted = performance.now();
  announce(`Classifying ${images.length} image${images.length === 1 ? "" : "s"}…`);
  updateProgress();
  if (wasEmpty || added.length === 1) {
    select(state.rows[state.rows.length - added.length]);
    // One file added is the one to show, readable or not; of many, the first readable one.
    state.autoSelected = added.length > 1;
  }
  runQueue();
}

const selectAndFocus = (row) => {
  state.autoSelected = false;
  select(row, { focus: true });
};

// The row's cells; its file name is a button that shows the file's details.
function buildRow(row) {
  const link = element("button", { className: "row-link", text: row.name, attrs: { type: "button" } });
  link.addEventListener("click", () => selectAndFocus(row));
  // The table is one Tab stop: the file names take turns being it (see table.js's arrow keys).
  link.tabIndex = state.rows.length === 0 ? 0 : -1;
  link.addEventListener("focus", () => makeTabStop(link));
  row.link = link;
  row.answer = element("span");
  row.tr = element("tr", {}, [element("td", {}, [link]), element("td", {}, [row.answer]), element("td", { className: "numeric" }),
    element("td"), element("td", { className: "numeric" })]);
  renderRow(row);
}

const LEVEL_CLASS = { likely: "status-tumour", possible: "status-possible", none: "status-clear", "not-mri": "status-notmri" };
// The table's short form of the not-MRI level; the detail panel gives the reasons.
const SHORT_HEADLINE = { "not-mri": "No result: not an MRI slice?" };
const UNSURE_WORDS = { tumour: "tumour or not", type: "type", model: "top class" };

// What the row says in its result column: the worker's verdict, worded, or where the file stands.
function answerOf(row) {
  if (row.status === "error") return ["status-error", row.unsupported ? "Not an image" : "Could not be read"];
  if (!row.result) return ["", row.status === "running" ? "Classifying…" : "Waiting…"];
  const { level } = row.result;
  return [LEVEL_CLASS[level], SHORT_HEADLINE[level] ?? LEVEL_HEADLINES[level]];
}

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

function renderRow(row) {
  const [className, text] = answerOf(row);
  row.answer.className = className;
  row.answer.textContent = text;
  const [nameCell, , tumourCell, typeCell, msCell] = row.tr.cells;
  nameCell.replaceChildren(row.link, ...rowNotes(row));
  if (row.status === "error") nameCell.append(element("div", { className: "status-error", text: row.error }));
  const { result } = row;
  if (!result || row.status === "error") {
    [tumourCell, typeCell, msCell].forEach((cell) => cell.replaceChildren());
    return;
  }
  // What is uncertain, in a word or two; the detail panel says why.
  const unsure = state.metadata ? uncertainties(result, state.metadata).map((u) => UNSURE_WORDS[u.about]) : [];
  if (unsure.length) nameCell.append(" ", element("span", { className: "flag", text: `uncertain: ${unsure.join(", ")}` }));
  tumourCell.textContent = result.level !== "not-mri" ? percent(result.tumorProbability) : "–";
  typeCell.textContent = result.likelyType ? `${result.likelyType} · ${percent(result.typeProbability)}` : "–";
  msCell.textContent = result.ms.toFixed(1);
}

// The same bytes added twice: noted on the later row. Keyed in the order the rows were added,
// while the worker classifies, so that the classification never waits for it.
async function noteDuplicate(row) {
  const key = await row.file.arrayBuffer().then((buffer) => contentKey(new Uint8Array(buffer)), () => null);
  if (key === null || !state.rows.includes(row)) return; // unreadable, or cleared meanwhile
  const first = state.contentKeys.get(key);
  if (!first || !state.rows.includes(first)) {
    state.contentKeys.set(key, row);
    return;
  }
  row.duplicateOf = first.name;
  renderRow(row);
}

// A multi-frame file: every frame classified once, to name the frame of most concern.
async function findWorstFrame(row) {
  let worst = { frame: row.frame, level: row.result.level, tumorProbability: row.result.tumorProbability };
  for (let frame = 0; frame < row.frames; frame += 1) {
    if (frame === row.frame) continue;
    const r = await state.classifier.classify(row.file, { frame });
    if (concernOf(r) > concernOf(worst)) worst = { frame, level: r.level, tumorProbability: r.tumorProbability };
  }
  row.worst = worst;
}

/** Classifies the queued rows, one at a time, once the model is loaded. */
export async function runQueue() {
  if (state.running || !state.metadata) return;
  state.running = true;
  while (state.queue.length) {
    const row = state.queue.shift();
    row.status = "running";
    renderRow(row);
    try {
      row.result = await state.classifier.classify(row.file, { frame: row.frame });
      row.frames = row.result.frames;
      row.frame = row.result.frame;
      if (row.frames > 1 && !row.worst) await findWorstFrame(row);
      row.status = "done";
      row.error = null;
      state.inferenceMs.push(row.result.timings.inference);
    } catch (err) {
      row.status = "error";
      row.result = null;
      row.error = err.message;
    }
    renderRow(row);
    updateProgress();
    if (row === state.selected) showDetail(row);
    // The page's own pick moves past a file that could not be read; the user's stays.
    if (row === state.selected && state.autoSelected && row.status === "error") {
      const next = state.rows.find((r) => r.status !== "error");
      if (next) select(next);
    }
  }
  state.running = false;
  applySort();
  const failed = state.rows.filter((r) => r.status === "error").length;
  const documents = state.rows.filter((r) => r.unsupported).length;
  announce(`Done: ${state.rows.length - failed} classified${failed > documents ? `, ${failed - documents} could not be read` : ""}` +
    `${documents ? `, ${documents} not images` : ""}.`);
}

/** The frame box's choice (detail.js wireFrameBox): that frame of the row's file, classified. */
export function classifyFrame(row, frame) {
  row.frame = frame;
  row.status = "queued";
  row.result = null;
  renderRow(row);
  state.queue.push(row);
  showDetail(row);
  runQueue();
}
