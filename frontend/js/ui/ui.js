// The page's DOM, wired: files in (input.js, examples.js) go to the batch's rows (rows.js), which
// take each file from the drop to its label; the table as a whole (table.js), the selected file's
// details and heatmap (detail.js, heatmap.js), the server check (server-check.js), the viewer
// (viewer.js) and the model card (card.js). They share one state object (state.js); the maths
// lives in the DOM-free modules. NIfTI volumes and DICOM series go to the scan view (scanview.js).
import { classifyFrame, runQueue, startRows } from "./rows.js";
import { showLoadFailure, showModelInfo } from "./card.js";
import { wireFrameBox } from "./detail.js";
import { wireExamples } from "./examples.js";
import { wireHeatmap } from "./heatmap.js";
import { wireInput } from "./input.js";
import { wireServerCheck } from "./server-check.js";
import { state } from "./state.js";
import { wireTable } from "./table.js";
import { wireImageViewer } from "./viewer.js";

export function startApp(classifier) {
  state.classifier = classifier;
  startRows(classifier);
  classifier.info.then((info) => {
    state.metadata = info.metadata;
    state.version = info.version;
    showModelInfo(info);
    runQueue();
  }, showLoadFailure);
  wireInput();
  wireExamples();
  wireTable();
  wireHeatmap();
  wireFrameBox(classifyFrame);
  wireServerCheck();
  wireImageViewer();
}
