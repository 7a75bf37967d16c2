// The detail panel of the selected file: preview, verdict, class probabilities, timing, frame box.
import { $, element, probabilityBar } from "./dom.js";
import { clearCanvas, offerHeatmap } from "./heatmap.js";
import { percent, tumourVerdict } from "./results.js";
import { state } from "./state.js";

export function select(row, { focus = false } = {}) {
  if (state.selected?.tr) state.selected.tr.removeAttribute("aria-current");
  state.selected = row;
  row.tr.setAttribute("aria-current", "true");
  $("detail").hidden = false;
  $("detail-name").textContent = row.name;
  $("verify-result").replaceChildren();
  showDetail(row);
  if (focus) $("detail-heading").focus();
}

export function showDetail(row) {
  const { metadata } = state;
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
  offerHeatmap(row);
}

async function drawPreview(row) {
  try {
    const bitmap = await state.classifier.render(row.file, { frame: row.frame });
    if (state.selected !== row) return bitmap.close();
    const canvas = $("preview");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
  } catch {
    // The row's own error says why; the preview simply stays empty.
  }
}

/** The frame box of a multi-frame DICOM file: `onFrame(row, frame)` reclassifies that frame. */
export function wireFrameBox(onFrame) {
  $("frame").addEventListener("change", (event) => {
    const row = state.selected;
    const frame = Number(event.target.value) - 1;
    if (!row || !Number.isInteger(frame) || frame < 0 || frame >= row.frames || frame === row.frame) return;
    onFrame(row, frame);
  });
}
