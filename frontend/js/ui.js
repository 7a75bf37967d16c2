// The page's DOM, wired: files in (input.js), the batch queue (here), the results table
// (table.js), the selected file's details and heatmap (detail.js, heatmap.js), the server check
// (server-check.js) and the model card (card.js). They share one state object (state.js); the
// maths lives in the DOM-free modules. NIfTI volumes and DICOM series go to the scan view
// (scanview.js); every other file is an image row.
import { showLoadFailure, showModelInfo } from "./card.js";
import { select, showDetail, wireFrameBox } from "./detail.js";
import { $, announce } from "./dom.js";
import { wireHeatmap } from "./heatmap.js";
import { wireInput } from "./input.js";
import { startScanView } from "./scanview.js";
import { wireServerCheck } from "./server-check.js";
import { newRow, state } from "./state.js";
import { applySort, buildRow, updateProgress, updateRow, wireTable } from "./table.js";

const selectAndFocus = (row) => select(row, { focus: true });

let scanView = null;

function addFiles(files) {
  scanView.take([...files].filter((file) => !file.name.startsWith("."))).then(addImages);
}

function addImages(added) {
  if (!added.length) return;
  const wasEmpty = state.rows.length === 0;
  for (const file of added) {
    const row = newRow(file);
    buildRow(row, selectAndFocus);
    state.rows.push(row);
    state.queue.push(row);
    $("results-body").append(row.tr);
  }
  $("results-panel").hidden = false;
  $("clear").disabled = false;
  if (!state.running) state.batchStarted = performance.now();
  announce(`Classifying ${added.length} image${added.length === 1 ? "" : "s"}…`);
  updateProgress();
  if (wasEmpty || added.length === 1) select(state.rows[state.rows.length - added.length]);
  runQueue();
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
      row.status = "done";
      row.error = null;
      state.inferenceMs.push(row.result.timings.inference);
    } catch (err) {
      row.status = "error";
      row.result = null;
      row.error = err.message;
    }
    updateRow(row);
    updateProgress();
    if (row === state.selected) showDetail(row);
  }
  state.running = false;
  applySort();
  const failed = state.rows.filter((r) => r.status === "error").length;
  announce(`Done: ${state.rows.length - failed} classified${failed ? `, ${failed} could not be read` : ""}.`);
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
    showModelInfo(info);
    if (state.queue.length) runQueue();
  }, showLoadFailure);
  wireInput(addFiles);
  wireTable();
  wireHeatmap();
  wireFrameBox(classifyFrame);
  wireServerCheck();
  return { addFiles };
}
