// The page's DOM: file input, batch table, detail view, model card. The maths lives in the
// DOM-free modules; this file only wires them to elements.
import { resultsCsv } from "./csv.js";
import { element, probabilityBar } from "./dom.js";
import { heatmapRgba, occlusionPasses } from "./explain.js";
import { DISCLAIMER, modelCard } from "./modelcard.js";
import { compareAnswers, percent, sortRows, tumourVerdict } from "./results.js";
import { startScanView } from "./scanview.js";
import { askServer } from "./verify.js";

const $ = (id) => document.getElementById(id);
// The heatmap is computed as soon as an image is shown when it should take less than this (wasm:
// about a second); on a slow backend (cpu, webgl without a GPU: 15-30 s) it waits for a button.
const AUTO_EXPLAIN_MS = 10_000;

// server - browser in percentage points, "+0.01 pts"; differences that round to zero show as 0.00.
function signedPoints(difference) {
  const value = difference * 100;
  if (Math.abs(value) < 0.005) return "0.00 pts";
  return `${value > 0 ? "+" : "−"}${Math.abs(value).toFixed(2)} pts`;
}

// A probability change in percentage points, with enough digits to show small ones.
function points(p) {
  const value = p * 100;
  return `${value >= 1 ? value.toFixed(1) : value.toPrecision(2)} percentage points`;
}

function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// Files from a drop, folders included (read recursively), skipping hidden system files.
async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files];
  const files = [];
  const walk = async (entry) => {
    if (entry.name.startsWith(".")) return;
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await walk(child);
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}

export function startApp(classifier) {
  const rows = [];
  const queue = [];
  let metadata = null;
  let selected = null;
  let sortState = null; // {key, direction}
  let running = false;
  let batchStarted = 0;
  const inferenceMs = []; // the model's time per image so far, for the heatmap's time estimate

  // ---- runtime and model card -------------------------------------------------------------
  classifier.info.then((info) => {
    metadata = info.metadata;
    const details = info.backend === "wasm"
      ? `WebAssembly${info.simd ? ", SIMD" : ""}, ${info.threads > 1 ? `${info.threads} threads` : "1 thread"}`
      : info.backend === "webgl" ? "WebGL" : "plain JavaScript, slow";
    const loaded = info.timings.backend + info.timings.load + info.timings.warmup;
    $("runtime").textContent = `Ready. Runs on ${info.backend} (${details}); model loaded in ${seconds(loaded)}.`;
    $("versions").textContent = `Model version ${info.version} · TensorFlow.js ${info.tfjs} · backend ${info.backend}`;
    renderModelCard(info);
    $("explain-label").replaceChildren(...metadata.labels.map((label) => element("option", { text: label, attrs: { value: label } })));
    if (queue.length) runQueue();
  }, (err) => {
    $("runtime").textContent = `The model could not be loaded: ${err.message}`;
    $("runtime").classList.add("error");
    $("runtime").setAttribute("role", "alert");
    $("model-card").replaceChildren(element("p", { className: "error", text: err.message }));
  });

  function renderModelCard(info) {
    $("card-disclaimer").textContent = DISCLAIMER;
    const sections = modelCard(info.metadata, info.version).map(({ title, rows: facts, tables, notes }) => {
      const parts = [element("h3", { text: title })];
      if (facts.length) {
        parts.push(element("dl", {}, facts.flatMap(([label, value]) => [element("dt", { text: label }), element("dd", { text: value })])));
      }
      if (tables.length) parts.push(element("div", { className: "card-tables" }, tables.map(factTable)));
      if (notes.length) parts.push(element("ul", {}, notes.map((note) => element("li", { text: note }))));
      return element("section", { attrs: { "aria-label": title } }, parts);
    });
    $("model-card").replaceChildren(...sections);
  }

  function factTable({ caption, columns, rows: cells }) {
    return element("div", { className: "table-wrap card-table" }, [element("table", {}, [
      element("caption", { text: caption }),
      element("thead", {}, [element("tr", {}, columns.map((c) => element("th", { text: c, attrs: { scope: "col" } })))]),
      element("tbody", {}, cells.map(([head, ...rest]) => element("tr", {}, [
        element("th", { text: head, attrs: { scope: "row" } }),
        ...rest.map((v) => element("td", { className: "numeric", text: v })),
      ]))),
    ])]);
  }

  // ---- adding files ------------------------------------------------------------------------
  // NIfTI volumes and DICOM series go to the scan view; every other file is an image row.
  const scanView = startScanView(classifier);
  function addFiles(files) {
    scanView.take([...files].filter((file) => !file.name.startsWith("."))).then(addImages);
  }

  function addImages(added) {
    if (!added.length) return;
    const wasEmpty = rows.length === 0;
    for (const file of added) {
      const row = { file, name: file.webkitRelativePath || file.name, status: "queued", result: null,
        error: null, frame: null, frames: 1, explanations: new Map(), tr: null, link: null };
      buildRow(row);
      rows.push(row);
      queue.push(row);
      $("results-body").append(row.tr);
    }
    $("results-panel").hidden = false;
    $("clear").disabled = false;
    if (!running) batchStarted = performance.now();
    announce(`Classifying ${added.length} image${added.length === 1 ? "" : "s"}…`);
    updateProgress();
    if (wasEmpty || added.length === 1) select(rows[rows.length - added.length]);
    runQueue();
  }

  async function runQueue() {
    if (running || !metadata) return;
    running = true;
    while (queue.length) {
      const row = queue.shift();
      row.status = "running";
      updateRow(row);
      try {
        row.result = await classifier.classify(row.file, { frame: row.frame });
        row.frames = row.result.frames;
        row.frame = row.result.frame;
        row.status = "done";
        row.error = null;
        inferenceMs.push(row.result.timings.inference);
      } catch (err) {
        row.status = "error";
        row.result = null;
        row.error = err.message;
      }
      updateRow(row);
      updateProgress();
      if (row === selected) showDetail(row);
    }
    running = false;
    if (sortState) applySort();
    const failed = rows.filter((r) => r.status === "error").length;
    announce(`Done: ${rows.length - failed} classified${failed ? `, ${failed} could not be read` : ""}.`);
  }

  function announce(text) {
    $("announcer").textContent = text;
  }

  function updateProgress() {
    const finished = rows.filter((r) => r.status === "done" || r.status === "error").length;
    const failed = rows.filter((r) => r.status === "error").length;
    const progress = $("progress");
    progress.max = Math.max(rows.length, 1);
    progress.value = finished;
    const parts = [`${finished} of ${rows.length} done`];
    if (failed) parts.push(`${failed} could not be read`);
    if (rows.length) parts.push(seconds(performance.now() - batchStarted));
    $("progress-label").textContent = rows.length ? parts.join(" · ") : "No images yet.";
    $("export-csv").disabled = finished === 0;
  }

  // ---- table -------------------------------------------------------------------------------
  function buildRow(row) {
    const tr = element("tr");
    const link = element("button", { className: "row-link", text: row.name, attrs: { type: "button" } });
    link.addEventListener("click", () => select(row, { focus: true }));
    row.link = link;
    tr.append(element("td", {}, [link]), element("td"), element("td"), element("td"), element("td", { className: "numeric" }));
    row.tr = tr;
    updateRow(row);
  }

  function updateRow(row) {
    const [nameCell, verdictCell, typeCell, confidenceCell, msCell] = row.tr.cells;
    nameCell.replaceChildren(row.link);
    if (row.status === "error") {
      nameCell.append(element("div", { className: "status-error", text: row.error }));
      verdictCell.replaceChildren(element("span", { className: "status-error", text: "Could not be read" }));
      [typeCell, confidenceCell, msCell].forEach((cell) => cell.replaceChildren());
      return;
    }
    if (!row.result) {
      verdictCell.textContent = row.status === "running" ? "Classifying…" : "Waiting…";
      [typeCell, confidenceCell, msCell].forEach((cell) => cell.replaceChildren());
      return;
    }
    const verdict = tumourVerdict(row.result, metadata);
    if (row.result.uncertain) nameCell.append(" ", element("span", { className: "flag", text: "uncertain" }));
    verdictCell.replaceChildren(element("span", {
      className: verdict.tumour ? "status-tumour" : "status-clear",
      text: `${verdict.headline} · ${percent(row.result.tumorProbability)}`,
    }));
    typeCell.textContent = row.result.label;
    confidenceCell.textContent = percent(verdict.confidence);
    msCell.textContent = row.result.ms.toFixed(1);
  }

  function applySort() {
    const ordered = sortRows(rows, sortState.key, sortState.direction);
    $("results-body").append(...ordered.map((row) => row.tr));
  }

  for (const th of document.querySelectorAll("#results th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      const direction = sortState?.key === key ? -sortState.direction : 1;
      sortState = { key, direction };
      for (const other of document.querySelectorAll("#results th[data-key]")) other.setAttribute("aria-sort", "none");
      th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
      applySort();
    });
  }

  // ---- detail view -------------------------------------------------------------------------
  function select(row, { focus = false } = {}) {
    if (selected?.tr) selected.tr.removeAttribute("aria-current");
    selected = row;
    row.tr.setAttribute("aria-current", "true");
    $("detail").hidden = false;
    $("detail-name").textContent = row.name;
    $("verify-result").replaceChildren();
    showDetail(row);
    if (focus) $("detail-heading").focus();
  }

  async function showDetail(row) {
    const error = $("detail-error");
    error.hidden = row.status !== "error";
    error.textContent = row.error ?? "";
    const result = row.result;
    $("verdict").textContent = result ? "" : row.status === "error" ? "Could not be read" : "Classifying…";
    $("verdict").className = "verdict";
    $("verdict-detail").textContent = "";
    $("bars").replaceChildren();
    $("timing").textContent = "";
    $("warnings").hidden = true;
    $("explain").hidden = true;
    $("verify").disabled = !result;
    $("frame-control").hidden = row.frames <= 1;
    $("frame").max = row.frames;
    $("frame").value = (row.frame ?? 0) + 1;
    $("frame-count").textContent = `(of ${row.frames})`;
    clearCanvas($("heatmap"));
    if (row.status === "error") {
      clearCanvas($("preview"));
      return;
    }
    drawPreview(row);
    if (!result) return;
    const verdict = tumourVerdict(result, metadata);
    $("verdict").textContent = verdict.headline;
    $("verdict").classList.add(verdict.tumour ? "tumour" : "clear");
    $("verdict-detail").textContent = `Tumour probability ${percent(result.tumorProbability)}` +
      (verdict.likelyType ? `; likely type: ${verdict.likelyType} (${percent(result.probabilities[verdict.likelyType])}).` : ".");
    $("warning-list").replaceChildren(...result.warnings.map((w) => element("li", { text: w })));
    $("warnings").hidden = !result.uncertain;
    $("bars").replaceChildren(...metadata.labels.map((label) => probabilityBar(label, result)));
    $("timing").textContent = `Classified in ${result.ms.toFixed(1)} ms in this browser ` +
      `(decoding ${result.timings.decode.toFixed(1)} ms, model ${result.timings.inference.toFixed(1)} ms).`;
    $("explain-label").value = result.label;
    const typical = [...inferenceMs].sort((a, b) => a - b)[Math.floor(inferenceMs.length / 2)] ?? result.timings.inference;
    const estimate = occlusionPasses(metadata.input.height, metadata.input.width) * typical;
    if (row.explanations.has(`${row.frame}:${result.label}`) || estimate < AUTO_EXPLAIN_MS) {
      drawExplanation(row, result.label);
    } else {
      $("heatmap-caption").textContent = `The heatmap takes up to ${seconds(estimate)} on this browser's backend.`;
      $("explain").hidden = false;
    }
  }

  function clearCanvas(canvas) {
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }

  async function drawPreview(row) {
    try {
      const bitmap = await classifier.render(row.file, { frame: row.frame });
      if (selected !== row) return bitmap.close();
      const canvas = $("preview");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      bitmap.close();
    } catch {
      // The row's own error says why; the preview simply stays empty.
    }
  }

  async function drawExplanation(row, label) {
    const key = `${row.frame}:${label}`;
    const caption = $("heatmap-caption");
    $("explain").hidden = true;
    let explanation = row.explanations.get(key);
    if (!explanation) {
      caption.textContent = "Computing where the model looked…";
      try {
        explanation = await classifier.explain(row.file, { frame: row.frame, label });
      } catch (err) {
        if (selected === row) caption.textContent = `No heatmap: ${err.message}`;
        return;
      }
      row.explanations.set(key, explanation);
    }
    if (selected !== row || $("explain-label").value !== label) return;
    const { rgba, peak } = heatmapRgba(explanation.map);
    const small = new OffscreenCanvas(explanation.width, explanation.height);
    small.getContext("2d").putImageData(new ImageData(rgba, explanation.width, explanation.height), 0, 0);
    const canvas = $("heatmap");
    const preview = $("preview");
    canvas.width = preview.width;
    canvas.height = preview.height;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    // The map is made of overlapping patches; a blur of about half a patch hides their edges.
    context.filter = `blur(${((canvas.width / explanation.width) * explanation.stride) / 2}px)`;
    context.drawImage(small, 0, 0, canvas.width, canvas.height);
    caption.textContent = peak > 0
      ? `Heatmap for "${label}": bright where hiding a ${explanation.patch}-pixel square (of the ` +
        `${explanation.width}-pixel input) lowered its probability most, by up to ${points(peak)}. ` +
        `${explanation.passes} passes in ${seconds(explanation.ms)}.`
      : `Hiding any part of the image did not lower the probability of "${label}": no region stands out.`;
  }

  $("opacity").addEventListener("input", (event) => {
    $("stage").style.setProperty("--overlay-opacity", String(event.target.value / 100));
  });
  $("explain-label").addEventListener("change", (event) => {
    if (selected?.result) drawExplanation(selected, event.target.value);
  });
  $("explain").addEventListener("click", () => {
    if (selected?.result) drawExplanation(selected, $("explain-label").value);
  });
  $("frame").addEventListener("change", (event) => {
    const row = selected;
    const frame = Number(event.target.value) - 1;
    if (!row || !Number.isInteger(frame) || frame < 0 || frame >= row.frames || frame === row.frame) return;
    row.frame = frame;
    row.status = "queued";
    row.result = null;
    updateRow(row);
    queue.push(row);
    showDetail(row);
    runQueue();
  });

  // ---- server check ------------------------------------------------------------------------
  $("verify-origin").textContent = location.origin;
  $("verify").addEventListener("click", async () => {
    const row = selected;
    if (!row?.result) return;
    const local = row.result;
    const out = $("verify-result");
    const button = $("verify");
    button.disabled = true;
    out.replaceChildren(element("p", { text: "Sending the image to the server…" }));
    try {
      // DICOM: the displayed frame as PNG, never the file (its header holds patient data).
      const image = local.dicom ? await classifier.png(row.file, { frame: row.frame }) : row.file;
      const extension = local.dicom ? "png" : (row.file.name.split(".").pop() || "img");
      const server = await askServer(image, `image.${extension}`);
      if (selected === row) out.replaceChildren(...comparison(local, server));
    } catch (err) {
      if (selected === row) out.replaceChildren(element("p", { className: "error", text: err.message }));
    } finally {
      button.disabled = false;
    }
  });

  function comparison(local, server) {
    const { sameLabel, largest } = compareAnswers(local, server);
    const labels = [...new Set([...metadata.labels, ...Object.keys(server.probabilities)])];
    const body = labels.map((label) => {
      const a = local.probabilities[label] ?? 0;
      const b = server.probabilities[label] ?? 0;
      return element("tr", {}, [
        element("th", { text: label, attrs: { scope: "row" } }),
        element("td", { text: percent(a, 2) }),
        element("td", { text: percent(b, 2) }),
        element("td", { text: signedPoints(b - a) }),
      ]);
    });
    const table = element("table", {}, [
      element("thead", {}, [element("tr", {}, ["Class", "This browser", "Server", "Difference"].map((t) => element("th", { text: t, attrs: { scope: "col" } })))]),
      element("tbody", {}, body),
    ]);
    return [
      element("p", { text: sameLabel
        ? `Same answer: both say ${server.label}.`
        : `Different answers: this browser says ${local.label}, the server says ${server.label}.` }),
      element("p", { text: `Largest probability difference: ${(largest.difference * 100).toFixed(2)} percentage points (${largest.label}).` }),
      table,
      ...(local.dicom ? [element("p", { className: "hint", text: "The server read the frame as an 8-bit PNG; this " +
        "browser used the unrounded windowed values, so differences of a fraction of a point are expected." })] : []),
      element("p", { className: "hint", text: `Server model: ${server.model ?? "not named"}${server.ms != null ? `, ${Number(server.ms).toFixed(1)} ms` : ""}.` }),
    ];
  }

  // ---- input controls ----------------------------------------------------------------------
  const fileInput = $("file-input");
  const folderInput = $("folder-input");
  $("pick-files").addEventListener("click", () => fileInput.click());
  $("pick-folder").addEventListener("click", () => folderInput.click());
  for (const input of [fileInput, folderInput]) {
    input.addEventListener("change", () => {
      addFiles(input.files);
      input.value = "";
    });
  }
  const dropzone = $("dropzone");
  let dragDepth = 0;
  document.addEventListener("dragenter", (event) => {
    if (!event.dataTransfer?.types.includes("Files")) return;
    dragDepth += 1;
    dropzone.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) dropzone.classList.remove("dragging");
  });
  // Dropped anywhere on the page, files are classified rather than opened by the browser.
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", async (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove("dragging");
    if (event.dataTransfer) addFiles(await droppedFiles(event.dataTransfer));
  });
  // Pasting an image (e.g. a screenshot of a slice) classifies it too.
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length) addFiles(files);
  });

  $("export-csv").addEventListener("click", () => {
    const ordered = sortState ? sortRows(rows, sortState.key, sortState.direction) : rows;
    // A byte-order mark so that spreadsheet programs read UTF-8 file names correctly.
    const blob = new Blob(["\uFEFF", resultsCsv(ordered, metadata.labels)], { type: "text/csv;charset=utf-8" });
    const link = element("a", { attrs: { href: URL.createObjectURL(blob), download: "mri-classification.csv" } });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  });

  $("clear").addEventListener("click", () => {
    queue.length = 0;
    rows.length = 0;
    selected = null;
    $("results-body").replaceChildren();
    $("results-panel").hidden = true;
    $("detail").hidden = true;
    $("clear").disabled = true;
    updateProgress();
    announce("Cleared.");
  });

  return { addFiles };
}
