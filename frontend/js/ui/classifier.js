// The page's handle on the classifier worker: one promise per job.

/**
 * Starts the worker and loads the model. `backend` is "auto" (wasm, then webgl, then cpu) or one
 * of them; `threads` false keeps the wasm backend single-threaded.
 * Returns {info, classify, explain, render, memory}; `info` resolves when the model is loaded and
 * warmed up, with the backend and model details.
 */
export function startClassifier({ backend = "auto", threads = "auto" } = {}) {
  const worker = new Worker(new URL("../worker/worker.js", import.meta.url), { type: "module" });
  const pending = new Map();
  let nextId = 0;
  let broken = null;

  worker.addEventListener("message", ({ data: { id, value, error } }) => {
    const job = pending.get(id);
    pending.delete(id);
    if (!job) return;
    if (error) job.reject(Object.assign(new Error(error.message), { name: error.name }));
    else job.resolve(value);
  });
  worker.addEventListener("error", (event) => {
    // A worker that fails to load (a missing vendor/ file, a syntax error) reports here only.
    event.preventDefault();
    broken = new Error(`The classifier could not start (${event.message || "its script failed to load"}); ` +
      "if you serve a checkout, build frontend/vendor/ first with `make install`.");
    for (const job of pending.values()) job.reject(broken);
    pending.clear();
  });

  function call(type, args = {}) {
    if (broken) return Promise.reject(broken);
    return new Promise((resolve, reject) => {
      const id = nextId;
      nextId += 1;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, type, ...args });
    });
  }

  const info = call("init", { backend, threads });
  const afterInit = (type) => (args) => info.then(() => call(type, args));
  const named = (file) => (file && typeof file.name === "string" && file.name ? file.name : "image");
  const classify = afterInit("classify");
  const explain = afterInit("explain");
  const render = afterInit("render");
  const png = afterInit("png");
  const classifyScan = afterInit("classifyScan");
  const pixels = afterInit("pixels");
  return {
    info,
    /**
     * Blob/File -> {label, probabilities, tumorProbability, level ("likely" | "possible" | "none" |
     * "not-mri"), reasons (why not-mri), likelyType, typeProbability, ms, uncertain, warnings, dicom, frames, frame, timings}.
     */
    classify: (file, { frame = null } = {}) => classify({ file, name: named(file), frame }),
    /** Blob/File -> {map, height, width, label, patch, stride, passes, ms}; `label` defaults to the top one. */
    explain: (file, { frame = null, label = null } = {}) => explain({ file, name: named(file), frame, label }),
    /** Blob/File -> ImageBitmap of the decoded image (a DICOM frame after windowing). */
    render: (file, { frame = null } = {}) => render({ file, name: named(file), frame }),
    /** Blob/File -> PNG Blob of the decoded image at full size (for the server check of DICOM). */
    png: (file, { frame = null } = {}) => png({ file, name: named(file), frame }),
    /**
     * A NIfTI File, or the Files of one DICOM series -> {scan, name, slices: [{index, label,
     * probabilities, tumorProbability}], summary, size, ms, timings}; `scan` names it for the
     * slice calls below.
     */
    classifyScan: (fileOrFiles, { name = null } = {}) => classifyScan({ files: [].concat(fileOrFiles), name }),
    /** One slice of a classified scan: its preview, heatmap and PNG, as for a file. */
    renderSlice: (scan, index) => render({ slice: { scan, index } }),
    explainSlice: (scan, index, { label = null } = {}) => explain({ slice: { scan, index }, label }),
    pngSlice: (scan, index) => png({ slice: { scan, index } }),
    /**
     * Files -> {scans: [{kind ("nifti" | "series"), files: [index]}], images: [index]}: which are
     * scans, read in the worker (the page parses no DICOM file); needs no model, so no wait for it.
     */
    split: (files) => call("split", { files }),
    /** For the viewer: Blob/File -> its decoded image at full size; a classified scan -> its slices. */
    pixels: (file, { frame = null } = {}) => pixels({ file, name: named(file), frame }),
    scanPixels: (scan) => pixels({ scan }),
    /** -> {numTensors, numBytes, backend}: for checking that classification leaks nothing. */
    memory: afterInit("memory"),
  };
}
