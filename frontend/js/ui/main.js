// Entry point: starts the classifier, publishes window.classifier (docs/contract.md),
// builds the page and, once the model is ready, registers the service worker that makes it work offline.
//
// Query parameters, for testing and benchmarks: ?backend=wasm|webgl|cpu picks one backend
// (default: the first that starts, in that order); ?threads=1 or 0 forces wasm threads on or off
// (default: on when the page is cross-origin isolated and the device has 4 or more cores).
import { startClassifier } from "./classifier.js";

const params = new URLSearchParams(location.search);
const classifier = startClassifier({
  backend: params.get("backend") ?? "auto",
  threads: params.get("threads") ?? "auto",
});

// For benchmarks: navigation-to-ready time is performance.getEntriesByName("classifier-ready").
classifier.info.then(() => performance.mark("classifier-ready"), () => undefined);

window.classifier = Object.freeze({
  /** Resolves, with the backend and model details, once the model is loaded and warmed up. */
  ready: classifier.info,
  /** Blob/File (options: {frame}) -> {label, probabilities, tumorProbability, level, reasons, ms, ...}: what the page shows. */
  classify: (fileOrBlob, options) => classifier.classify(fileOrBlob, options),
  /** Blob/File -> the occlusion heatmap the page overlays. */
  explain: (fileOrBlob, options) => classifier.explain(fileOrBlob, options),
  /**
   * A NIfTI File or the Files of one DICOM series -> {slices: [{index, label, probabilities,
   * tumorProbability}], summary, ms, timings: {read, classify}, level ("not-mri" when a DICOM
   * series' headers put it outside the model's scope, else null), reasons, scope}; `index` is the slice's position in
   * the volume's own axial order.
   */
  classifyScan: async (fileOrFiles) => {
    const { slices, summary, ms, timings, level, reasons, scope } = await classifier.classifyScan(fileOrFiles);
    return { slices, summary, ms, timings, level, reasons, scope };
  },
  /** -> {numTensors, numBytes, backend}. */
  memory: () => classifier.memory(),
});

// The page's own modules load while the worker loads TF.js and the model, not before it starts.
const { startApp } = await import("./ui.js");
startApp(classifier);

async function registerServiceWorker() {
  const status = document.getElementById("offline-status");
  if (!("serviceWorker" in navigator)) {
    status.textContent = "Offline use: not available in this browser (or on a plain-http host).";
    return;
  }
  try {
    await navigator.serviceWorker.register("./sw.js");
    await navigator.serviceWorker.ready;
    status.textContent = "Offline use: ready. The page and the model are saved in this browser; it works without a network.";
  } catch (err) {
    status.textContent = `Offline use: not available (${err.message}).`;
  }
}

// After the model is ready (or failed): the offline copy (several MB) would otherwise compete
// with the model's own download and slow the first visit's start.
classifier.info.then(registerServiceWorker, registerServiceWorker);
