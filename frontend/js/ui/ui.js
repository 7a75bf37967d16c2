// The page's DOM, wired: files in (input.js), the batch queue (here), the results table
// (table.js), the selected file's details and heatmap (detail.js, heatmap.js), the server check
// (server-check.js) and the model card (card.js). They share one state object (state.js); the
// maths lives in the DOM-free modules. NIfTI volumes and DICOM series go to the scan view
// (scanview.js); every other file is an image row.
import { showLoadFailure, showModelInfo } from "./card.js";
import { select, showDetail, wireFrameBox } from "./detail.js";
import { $, announce } from "./dom.js";
import { wireExamples } from "./examples.js";
import { skippedLine, unsupportedMessage, withoutJunk } from "../shared/files.js";
import { contentKey } from "../shared/hash.js";
import { wireHeatmap } from "./heatmap.js";
import { wireInput } from "./input.js";
import { startScanView } from "./scanview.js";
import { wireServerCheck } from "./server-check.js";
import { newRow, state } from "./state.js";
import { applySort, buildRow, updateProgress, updateRow, wireTable } from "./table.js";
import { wireImageViewer } from "./viewer.js";

const selectAndFocus = (row) => {
  state.autoSelected = false;
  select(row, { focus: true });
};

let scanView = null;

function addFiles(files) {
  const { kept, skipped, unsupported } = withoutJunk([...files]);
  state.skipped.push(...skipped);
  $("skipped").textContent = skippedLine(state.skipped);
  $("skipped").hidden = !state.skipped.length;
  scanView.take(kept).then((images) => addImages(images, unsupported));
}

// Images join the queue; documents (PDF, text, ...) get a row saying what to do instead, after them.
function addImages(images, unsupported = []) {
  const added = [...images, ...unsupported];
  if (!added.length) return;
  const wasEmpty = state.rows.length === 0;
  for (const file of added) {
    const row = newRow(file);
    if (unsupported.includes(file)) Object.assign(row, { status: "error", unsupported: true, error: unsupportedMessage(row.name) });
    buildRow(row, selectAndFocus);
    state.rows.push(row);
    if (!row.unsupported) state.queue.push(row);
    $("results-body").append(row.tr);
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

// The same bytes added twice: noted on the later row.
async function noteDuplicate(row) {
  const key = contentKey(new Uint8Array(await row.file.arrayBuffer()));
  const first = state.contentKeys.get(key);
  if (first && first !== row && state.rows.includes(first)) row.duplicateOf = first.name;
  else state.contentKeys.set(key, row);
}

const LEVEL_RANK = { "not-mri": 0, none: 1, possible: 2, likely: 3 };

// A multi-frame file: every frame classified once, to name the frame of most concern.
async function findWorstFrame(row) {
  let worst = { frame: row.frame, level: row.result.level, tumorProbability: row.result.tumorProbability };
  for (let frame = 0; frame < row.frames; frame += 1) {
    if (frame === row.frame) continue;
    const r = await state.classifier.classify(row.file, { frame });
    const rank = (x) => LEVEL_RANK[x.level] + x.tumorProbability;
    if (rank(r) > rank(worst)) worst = { frame, level: r.level, tumorProbability: r.tumorProbability };
  }
  row.worst = worst;
}

async function runQueue() {
  if (state.running || !state.metadata) return;
  state.running = true;
  while (state.queue.length) {
    const row = state.queue.shift();
    row.status = "running";
    updateRow(row);
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
    await noteDuplicate(row).catch(() => undefined); // a file that cannot be read again is no duplicate
    updateRow(row);
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

function classifyFrame(row, frame) {
  row.frame = frame;
  row.status = "queued";
  row.result = null;
  updateRow(row);
  state.queue.push(row);
  showDetail(row);
  runQueue();
}

export function startApp(classifier) {
  state.classifier = classifier;
  scanView = startScanView(classifier);
  classifier.info.then((info) => {
    state.metadata = info.metadata;
    state.version = info.version;
    showModelInfo(info);
    if (state.queue.length) runQueue();
  }, showLoadFailure);
  wireInput(addFiles);
  wireExamples(addFiles);
  wireTable();
  wireHeatmap();
  wireFrameBox(classifyFrame);
  wireServerCheck();
  wireImageViewer();
  return { addFiles };
}
