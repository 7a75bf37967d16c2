// The detail panel's heatmap: occlusion sensitivity drawn over the preview, with its controls.
import { $, seconds } from "./dom.js";
import { heatmapRgba, occlusionPasses } from "./explain.js";
import { state } from "./state.js";

// The heatmap is computed as soon as an image is shown when it should take less than this (wasm:
// about a second); on a slow backend (cpu, webgl without a GPU: 15-30 s) it waits for a button.
const AUTO_EXPLAIN_MS = 10_000;

// A probability change in percentage points, with enough digits to show small ones.
function points(p) {
  const value = p * 100;
  return `${value >= 1 ? value.toFixed(1) : value.toPrecision(2)} percentage points`;
}

export function clearCanvas(canvas) {
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
}

/**
 * Draws the selected row's heatmap now when that is quick (or cached), else offers a button. It
 * explains the likely tumour type when there is one, else the top class.
 */
export function offerHeatmap(row) {
  const { result } = row;
  const { metadata, inferenceMs } = state;
  const label = result.likelyType ?? result.label;
  $("explain-label").value = label;
  const typical = [...inferenceMs].sort((a, b) => a - b)[Math.floor(inferenceMs.length / 2)] ?? result.timings.inference;
  const estimate = occlusionPasses(metadata.input.height, metadata.input.width) * typical;
  if (row.explanations.has(`${row.frame}:${label}`) || estimate < AUTO_EXPLAIN_MS) {
    drawExplanation(row, label);
  } else {
    $("heatmap-caption").textContent = `The heatmap takes up to ${seconds(estimate)} on this browser's backend.`;
    $("explain").hidden = false;
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
      explanation = await state.classifier.explain(row.file, { frame: row.frame, label });
    } catch (err) {
      if (state.selected === row) caption.textContent = `No heatmap: ${err.message}`;
      return;
    }
    row.explanations.set(key, explanation);
  }
  if (state.selected !== row || $("explain-label").value !== label) return;
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

export function wireHeatmap() {
  $("opacity").addEventListener("input", (event) => {
    $("stage").style.setProperty("--overlay-opacity", String(event.target.value / 100));
  });
  $("explain-label").addEventListener("change", (event) => {
    if (state.selected?.result) drawExplanation(state.selected, event.target.value);
  });
  $("explain").addEventListener("click", () => {
    if (state.selected?.result) drawExplanation(state.selected, $("explain-label").value);
  });
}
