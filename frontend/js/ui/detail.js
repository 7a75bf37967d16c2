// The detail panel of the selected file: preview, verdict, class probabilities, timing, frame box.
import { $, element, probabilityBar } from "./dom.js";
import { clearHeatmap, offerHeatmap } from "./heatmap.js";
import { percent } from "../shared/format.js";
import { LEVEL_HEADLINES, cutoffSentence, uncertainties } from "../shared/results.js";
import { state } from "./state.js";

export function select(row, { focus = false } = {}) {
  if (state.selected?.tr) state.selected.tr.removeAttribute("aria-current");
  state.selected = row;
  row.tr.setAttribute("aria-current", "true");
  $("detail").hidden = false;
  $("detail-name").textContent = row.name;
  $("verify-result").replaceChildren();
  showDetail(row);
  if (!focus) return;
  // On a phone the answer is what a tap asks for: bring the verdict to the top of the screen.
  const phone = matchMedia("(max-width: 30rem)").matches;
  $("detail-heading").focus({ preventScroll: phone });
  if (phone) $("detail-heading").scrollIntoView({ block: "start" });
}

const LEVEL_CLASS = { likely: "tumour", possible: "possible", none: "clear", "not-mri": "not-mri" };

export function showDetail(row) {
  const { metadata } = state;
  const failed = row.status === "error";
  const result = row.result;
  // A file that could not be read shows its reason and nothing else: no image, no controls.
  $("viewer").hidden = failed;
  $("verify-section").hidden = failed;
  $("detail-error").hidden = !failed;
  $("detail-error").textContent = row.error ?? "";
  $("verdict").textContent = result ? "" : failed ? (row.unsupported ? "Not an image" : "Could not be read") : "Classifying…";
  $("verdict").className = "verdict";
  $("verdict-detail").textContent = "";
  $("reasons").hidden = true;
  $("cutoffs").hidden = true;
  $("probabilities").hidden = true;
  $("bars").replaceChildren();
  $("timing").textContent = "";
  $("warnings").hidden = true;
  $("explain").hidden = true;
  $("verify").disabled = !result;
  $("frame-control").hidden = row.frames <= 1;
  $("frame").max = row.frames;
  $("frame").value = (row.frame ?? 0) + 1;
  $("frame-count").textContent = `(of ${row.frames})`;
  $("frame-message").hidden = true;
  $("frame").removeAttribute("aria-invalid");
  $("opacity-control").hidden = true;
  $("label-control").hidden = true;
  clearHeatmap();
  if (failed) return;
  drawPreview(row);
  if (!result) return;
  // The worker gave the result its verdict (level, likely type); the panel only words it.
  const { level, likelyType, typeProbability } = result;
  $("verdict").textContent = LEVEL_HEADLINES[level];
  $("verdict").classList.add(LEVEL_CLASS[level]);
  const notMri = level === "not-mri";
  if (notMri) {
    $("verdict-detail").textContent = result.scope?.withheld
      ? "The model was trained on axial T1, T1 with contrast, T2 and FLAIR brain MRI slices only, so its answer here means nothing:"
      : "The model was trained on brain MRI slices only, so its answer here means nothing:";
    $("reasons").replaceChildren(...result.reasons.map((reason) => element("li", { text: reason })));
    $("reasons").hidden = false;
  } else {
    $("verdict-detail").textContent = `Tumour probability ${percent(result.tumorProbability)}` +
      (likelyType ? `; likely type: ${likelyType} (probability ${percent(typeProbability)}).` : ".") +
      (result.scope?.label ? ` The header says: ${result.scope.label}.` : "");
    $("cutoffs").textContent = cutoffSentence(metadata);
    $("cutoffs").hidden = false;
    // What is uncertain: the tumour-or-not answer, the type, or (neither) the model's top class.
    const unsure = uncertainties(result, metadata);
    $("warning-list").replaceChildren(...unsure.map((u) => element("li", { text: u.text, attrs: { "data-about": u.about } })));
    $("warnings").hidden = unsure.length === 0;
  }
  // For a not-MRI image the probabilities stay available, folded away.
  $("probabilities").hidden = false;
  $("probabilities").open = !notMri;
  $("probabilities").querySelector("h3").textContent = notMri ? "The model's probabilities anyway" : "Class probabilities";
  $("bars").replaceChildren(...metadata.labels.map((label) => probabilityBar(label, result)));
  $("timing").textContent = `Classified in ${result.ms.toFixed(1)} ms in this browser ` +
    `(decoding ${result.timings.decode.toFixed(1)} ms, model ${result.timings.inference.toFixed(1)} ms).`;
  if (notMri) return; // no heatmap of an answer that means nothing
  $("opacity-control").hidden = false;
  $("label-control").hidden = false;
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

/**
 * The frame box of a multi-frame DICOM file: `onFrame(row, frame)` reclassifies that frame; a
 * frame the file does not have is refused with a message.
 */
export function wireFrameBox(onFrame) {
  const box = $("frame");
  const message = $("frame-message");
  box.addEventListener("change", () => {
    const row = state.selected;
    if (!row) return;
    const frame = Number(box.value) - 1;
    const valid = box.value.trim() !== "" && Number.isInteger(frame) && frame >= 0 && frame < row.frames;
    message.hidden = valid;
    message.textContent = valid ? "" : `There is no frame ${box.value || "(empty)"}: this file has frames 1 to ${row.frames}.`;
    box.setAttribute("aria-invalid", String(!valid));
    if (valid && frame !== row.frame) onFrame(row, frame);
  });
}
