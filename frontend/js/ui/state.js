// The one piece of state the page's UI modules share: the rows of the batch, what waits to be
// classified, the selected row and the model's metadata once loaded.

export const state = {
  metadata: null,
  version: null, // the model's (shared/hash.js modelVersion), named in the CSV
  rows: [], // rows.js newRow
  queue: [],
  selected: null,
  sort: null, // {key, direction}
  running: false,
  batchStarted: 0,
  classifier: null, // classifier.js's handle on the worker
  inferenceMs: [], // the model's time per image so far, for the heatmap's time estimate
  autoSelected: false, // the page picked the selected row out of several added: an error moves it on
  contentKeys: new Map(), // hash.js contentKey -> the first row with those bytes
  skipped: [], // paths of files left out as not images
  scans: [], // the scan cards' records, {name, kind, status, scan?, error?}, counted and exported with the rows
};
