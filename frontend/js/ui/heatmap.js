// The detail panel's heatmap: occlusion sensitivity drawn over the preview, with its controls.
// A scan card (scancard.js) draws its slices' heatmaps with the same functions and legend.
import { $, element, seconds } from "./dom.js";
import { HEATMAP_FULL_SCALE, heatmapRgba, occlusionPasses } from "../shared/explain.js";
import { state } from "./state.js";

// The heatmap is computed as soon as an image is shown when it should take less than this (wasm);
// on a slow backend (cpu, webgl without a GPU) it waits for a button.
const AUTO_EXPLAIN_MS = 10_000;

// A probability change in percentage points, with enough digits to show small ones.
function points(p) {
  const value = p * 100;
  return `${value >= 1 ? value.toFixed(1) : value.toPrecision(2)} percentage points`;
}

export function clearCanvas(canvas) {
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
}

/** No heatmap on screen: the overlay, its caption and its legend cleared. */
export function clearHeatmap() {
  clearCanvas($("heatmap"));
  $("heatmap-caption").textContent = "";
  $("heatmap-legend").hidden = true;
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
  const peak = drawHeatmap($("heatmap"), $("preview"), explanation);
  caption.textContent = heatmapCaption(explanation, label, peak);
  $("heatmap-legend").hidden = false;
}

/** An explanation drawn on `canvas`, over and as large as `preview`; -> the map's peak. */
export function drawHeatmap(canvas, preview, explanation) {
  const { rgba, peak } = heatmapRgba(explanation.map);
  const small = new OffscreenCanvas(explanation.width, explanation.height);
  small.getContext("2d").putImageData(new ImageData(rgba, explanation.width, explanation.height), 0, 0);
  canvas.width = preview.width;
  canvas.height = preview.height;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  // The map is made of overlapping patches; a blur of about half a patch hides their edges.
  context.filter = `blur(${((canvas.width / explanation.width) * explanation.stride) / 2}px)`;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
  return peak;
}

/** The caption: how much the brightest region matters, in a sentence (`peak`: drawHeatmap's). */
export function heatmapCaption({ patch, width, passes, ms }, label, peak) {
  if (peak <= 0) return `Hiding any part of the image did not lower the probability of "${label}": no region stands out.`;
  const square = `hiding a ${patch}-pixel square (of the ${width}-pixel input)`;
  const how = `${passes} passes in ${seconds(ms)}.`;
  if (peak < 0.01) {
    return `Heatmap for "${label}": ${square} changes its probability by ${points(peak)} at most, so no region ` +
      `matters and the overlay stays nearly clear. ${how}`;
  }
  return `Heatmap for "${label}": the colour shows how much ${square} lowers its probability, up to ` +
    `${points(peak)} here; full colour means ${Math.round(HEATMAP_FULL_SCALE * 100)} percentage points or more. ${how}`;
}

// The legend: the overlay's own colours from no change to the full scale.
function paintLegend(canvas, max) {
  const steps = 64;
  const { rgba } = heatmapRgba(Float32Array.from({ length: steps }, (_, i) => (HEATMAP_FULL_SCALE * (i + 0.5)) / steps));
  canvas.width = steps;
  canvas.height = 1;
  canvas.getContext("2d").putImageData(new ImageData(rgba, steps, 1), 0, 0);
  max.textContent = `${Math.round(HEATMAP_FULL_SCALE * 100)}+ points`;
}

/** A legend like the detail panel's (#heatmap-legend), for another heatmap; hidden until one is drawn. */
export function heatmapLegend() {
  const ramp = element("canvas", { attrs: { "aria-hidden": "true" } });
  const max = element("span");
  paintLegend(ramp, max);
  return element("div", { className: "legend", attrs: { hidden: "" } }, [element("span", { text: "Change when hidden: 0" }), ramp, max]);
}

export function wireHeatmap() {
  paintLegend($("legend-ramp"), $("legend-max"));
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
