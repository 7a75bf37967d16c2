// A scan card's contents once the scan is classified: the summary, the strip and its legend, a
// slider (slices numbered from 1) with the selected slice's image, classes, heatmap (the detail
// panel's scale, legend and controls) and server check (the detail panel's notice and
// comparison), and a CSV with one line per slice. Nothing leaves the page, except the selected
// slice as PNG when "Check this slice with the server" is pressed.
import { downloadCsv, element, probabilityBar } from "./dom.js";
import { drawHeatmap, heatmapCaption, heatmapLegend } from "./heatmap.js";
import { percent } from "../shared/format.js";
import { scanCsv, sliceName, sliceVerdict, summaryText } from "../shared/scanresults.js";
import { comparison, serverNotice } from "./server-check.js";
import { STRIP_HEIGHT, drawStrip, stripLegend } from "./scanstrip.js";
import { viewerButton } from "./viewer.js";
import { askServer } from "./verify.js";

const button = (text) => element("button", { className: "button", text, attrs: { type: "button" } });
const capitalised = (text) => text[0].toUpperCase() + text.slice(1);

// The heatmap's controls, as the detail panel's: opacity and the class explained.
function heatmapControls(stage, labels) {
  const opacity = element("input", { attrs: { type: "range", min: "0", max: "100", step: "5", value: "60" } });
  opacity.addEventListener("input", () => stage.style.setProperty("--overlay-opacity", String(opacity.value / 100)));
  const choice = element("select", {}, labels.map((label) => element("option", { text: label, attrs: { value: label } })));
  const control = (text, input) => element("label", { className: "control" }, [element("span", { text }), input]);
  return { opacity, choice, controls: element("div", { className: "controls" }, [control("Heatmap opacity", opacity), control("Explain the class", choice)]) };
}

// The summary, or the headers' reasons for giving none.
function verdictLines(scan) {
  if (scan.level !== "not-mri") return [element("p", { className: "scan-summary", text: summaryText(scan.summary, percent) })];
  return [element("p", { className: "scan-summary not-mri", text: "No result for this series: the model was trained on axial " +
      "T1, T1 with contrast, T2 and FLAIR brain MRI slices only, and its headers say:" }),
    element("ul", { className: "scan-reasons" }, scan.reasons.map((reason) => element("li", { text: reason })))];
}

/** Fills `card` (its `status` line said "Classifying…") with a classified scan. */
export function showScan(card, status, scan, { classifier, metadata }) {
  const { summary, size } = scan;
  const total = size.slices;
  const nameOf = (index) => sliceName(index, total, scan.sliceInfo?.[index]);
  status.textContent = `${total} axial slices of ${size.columns}×${size.rows} pixels; ${summary.classified} classified ` +
    `in ${(scan.ms / 1000).toFixed(2)} s in this browser.`;
  const byIndex = new Map(scan.slices.map((s) => [s.index, sliceVerdict(s, metadata)]));
  const strip = element("canvas", { className: "scan-strip", attrs: { width: String(total * 4), height: String(STRIP_HEIGHT),
    role: "img", "aria-label": "Tumour probability along the slices" } });
  const slider = element("input", { attrs: { type: "range", min: "1", max: String(total), step: "1", "aria-label": "Slice (from 1)" } });
  const sliceLabel = element("output", { className: "scan-slice-label" });
  const preview = element("canvas", { className: "scan-preview", attrs: { role: "img", "aria-label": "The selected slice" } });
  const heatmap = element("canvas", { className: "scan-heatmap", attrs: { "aria-hidden": "true" } });
  const stage = element("div", { className: "stage scan-stage" }, [preview, heatmap]);
  const legend = heatmapLegend();
  const { opacity, choice, controls } = heatmapControls(stage, metadata.labels);
  const classes = element("ul", { className: "bars scan-bars" });
  const caption = element("p", { className: "caption scan-heatmap-caption" });
  const explainButton = button("Show where the model looked");
  const verifyButton = button("Check this slice with the server");
  const verifyOut = element("div", { className: "scan-verify verify-result", attrs: { role: "status", "aria-live": "polite" } });
  const csvButton = button("Download CSV (one line per slice)");
  const explanations = new Map(); // `${index}:${label}` -> explanation
  let explained = null; // the heatmap on screen, {index, ...explanation}, for the viewer's overlay
  let current = -1;
  const viewButton = viewerButton(() => ({ title: scan.name, slice: current, pixels: () => classifier.scanPixels(scan.scan),
    heatmap: () => (explained?.index === current ? explained : null) }));
  const said = scan.scope?.label ? [element("p", { className: "hint", text: `The header says: ${scan.scope.label}.` })] : [];
  card.append(
    ...verdictLines(scan),
    ...said,
    ...summary.notes.map((note) => element("p", { className: "hint", text: note })),
    strip,
    stripLegend(summary.threshold),
    element("label", { className: "scan-slider" }, [element("span", { text: "Slice " }), slider, sliceLabel]),
    element("div", { className: "scan-detail" }, [
      element("div", {}, [stage, legend, caption, controls]),
      element("div", {}, [classes, element("div", { className: "button-row" }, [explainButton, viewButton, csvButton]),
        element("section", { className: "verify scan-verify-section" }, [
          element("p", { className: "scan-verify-notice" }, serverNotice("slice", "For a scan only the selected slice is sent, " +
            "as a PNG of its pixels, without the file or its header.")),
          verifyButton, verifyOut])]),
    ]),
  );
  drawStrip(strip, total, byIndex, summary.threshold);

  const clearOverlay = () => {
    heatmap.getContext("2d").clearRect(0, 0, heatmap.width, heatmap.height);
    legend.hidden = true;
    caption.textContent = "";
    explained = null;
  };
  const select = async (index) => {
    if (index === current) return;
    current = index;
    slider.value = String(index + 1);
    const result = byIndex.get(index);
    sliceLabel.textContent = capitalised(nameOf(index)) +
      (result ? `: tumour probability ${percent(result.tumorProbability)}` : ": not classified (too little head)");
    classes.replaceChildren(...(result ? metadata.labels.map((label) => probabilityBar(label, result)) : []));
    if (result) choice.value = result.likelyType ?? result.label;
    explainButton.disabled = !result;
    verifyButton.disabled = !result;
    verifyOut.replaceChildren();
    clearOverlay();
    drawStrip(strip, total, byIndex, summary.threshold, index);
    const bitmap = await classifier.renderSlice(scan.scan, index);
    if (current !== index) return bitmap.close();
    preview.width = bitmap.width;
    preview.height = bitmap.height;
    preview.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
  };
  const explain = async () => {
    const index = current;
    const label = choice.value;
    if (!byIndex.has(index)) return;
    const key = `${index}:${label}`;
    caption.textContent = "Computing where the model looked…";
    try {
      if (!explanations.has(key)) explanations.set(key, await classifier.explainSlice(scan.scan, index, { label }));
    } catch (err) {
      if (current === index) caption.textContent = `No heatmap: ${err.message}`;
      return;
    }
    if (current !== index || choice.value !== label) return;
    const explanation = explanations.get(key);
    const peak = drawHeatmap(heatmap, preview, explanation);
    explained = { index, ...explanation };
    legend.hidden = false;
    caption.textContent = `${capitalised(nameOf(index))}. ${heatmapCaption(explanation, label, peak)}`;
  };
  slider.addEventListener("input", () => select(Number(slider.value) - 1));
  strip.addEventListener("click", (event) => {
    const box = strip.getBoundingClientRect();
    select(Math.min(total - 1, Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * total))));
  });
  explainButton.addEventListener("click", explain);
  choice.addEventListener("change", () => { if (explained?.index === current) explain(); });
  opacity.dispatchEvent(new Event("input"));
  verifyButton.addEventListener("click", async () => {
    const index = current;
    const local = byIndex.get(index);
    if (!local) return;
    verifyButton.disabled = true;
    verifyOut.replaceChildren(element("p", { text: "Sending this slice, as a PNG of its pixels, to the server…" }));
    try {
      // Only the slice's pixels as PNG: never the file, whose header may hold text or patient data.
      const server = await askServer(await classifier.pngSlice(scan.scan, index), `slice-${index + 1}.png`);
      if (current === index) verifyOut.replaceChildren(element("p", { text: `${capitalised(nameOf(index))}:` }), ...comparison(local, server));
    } catch (err) {
      if (current === index) verifyOut.replaceChildren(element("p", { className: "error", text: err.message }));
    } finally {
      verifyButton.disabled = !byIndex.has(current);
    }
  });
  csvButton.addEventListener("click", () => {
    downloadCsv(scanCsv(scan.name, total, scan.slices, metadata.labels, scan.sliceInfo), "mri-scan-slices.csv");
  });
  select(summary.mostLikely[0]?.index ?? Math.floor(total / 2));
}
