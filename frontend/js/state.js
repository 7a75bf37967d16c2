// The one piece of state the page's UI modules share: the rows of the batch, what waits to be
// classified, the selected row and the model's metadata once loaded.

export const state = {
  metadata: null,
  rows: [], // {file, name, status, result, error, frame, frames, explanations, tr, link}
  queue: [],
  selected: null,
  sort: null, // {key, direction}
  running: false,
  batchStarted: 0,
  classifier: null, // classifier.js's handle on the worker
  inferenceMs: [], // the model's time per image so far, for the heatmap's time estimate
};

export function newRow(file) {
  return { file, name: file.webkitRelativePath || file.name, status: "queued", result: null,
    error: null, frame: null, frames: 1, explanations: new Map(), tr: null, link: null };
}
