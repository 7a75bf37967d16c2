// The page's scan view: NIfTI volumes and DICOM series taken out of a batch of files, each
// classified slice by slice in the worker and shown as a card: the tumour probability along the
// slices, a slider with the selected slice's image, classes and heatmap, the summary and a CSV.
// Nothing leaves the page, except the selected slice as PNG when "Check this slice with the
// server" is pressed.
import { downloadCsv, element, probabilityBar } from "./dom.js";
import { drawHeatmap } from "./heatmap.js";
import { percent } from "../shared/format.js";
import { scanCsv, summaryText } from "../shared/scanresults.js";
import { viewerButton } from "./viewer.js";
import { askServer } from "./verify.js";

const STRIP_HEIGHT = 64;

// A scan as the worker's split names it -> the card's title.
function scanName(kind, group) {
  if (kind === "nifti") return group[0].webkitRelativePath || group[0].name;
  const folder = group[0].webkitRelativePath?.split("/").slice(0, -1).join("/");
  return folder ? `${folder} (DICOM series, ${group.length} files)` : `DICOM series of ${group.length} files`;
}

/** The scans section of the page; `take(files)` classifies the scans among them and returns the rest. */
export function startScanView(classifier) {
  let metadata = null;
  classifier.info.then((info) => { metadata = info.metadata; }, () => undefined);
  const panel = element("section", { className: "panel", attrs: { id: "scans-panel", "aria-labelledby": "scans-heading", hidden: "" } }, [
    element("h2", { text: "Scans", attrs: { id: "scans-heading" } }),
    element("p", { className: "hint", text: "Each NIfTI volume or DICOM series is read and classified slice by slice in this " +
      "browser. The strip shows the tumour probability of each axial slice (grey: not classified, too little head)." }),
  ]);
  const anchor = document.getElementById("results-panel");
  anchor.parentNode.insertBefore(panel, anchor);
  let queue = Promise.resolve();

  function addScan({ name, files }) {
    panel.hidden = false;
    const status = element("p", { className: "scan-status", text: `Reading ${name}…`, attrs: { role: "status" } });
    const card = element("article", { className: "scan-card", attrs: { "data-scan": name } }, [
      element("h3", { text: name }), status]);
    panel.append(card);
    queue = queue.then(async () => {
      try {
        status.textContent = `Classifying ${name}…`;
        const scan = await classifier.classifyScan(files, { name });
        await classifier.info;
        showScan(card, status, scan);
      } catch (err) {
        status.textContent = err.message;
        status.classList.add("error");
        card.classList.add("failed");
      }
    });
    return queue;
  }

  function showScan(card, status, scan) {
    const { summary, size } = scan;
    status.textContent = `${size.slices} axial slices of ${size.columns}×${size.rows} pixels; ${summary.classified} classified ` +
      `in ${(scan.ms / 1000).toFixed(2)} s in this browser.`;
    const byIndex = new Map(scan.slices.map((s) => [s.index, s]));
    const strip = element("canvas", { className: "scan-strip", attrs: { width: String(size.slices * 4), height: String(STRIP_HEIGHT),
      role: "img", "aria-label": "Tumour probability along the slices" } });
    const slider = element("input", { attrs: { type: "range", min: "0", max: String(size.slices - 1), step: "1", "aria-label": "Slice" } });
    const sliceLabel = element("output", { className: "scan-slice-label" });
    const preview = element("canvas", { className: "scan-preview", attrs: { role: "img", "aria-label": "The selected slice" } });
    const heatmap = element("canvas", { className: "scan-heatmap", attrs: { "aria-hidden": "true" } });
    const classes = element("ul", { className: "bars scan-bars" });
    const caption = element("p", { className: "caption" });
    const explainButton = element("button", { className: "button", text: "Show where the model looked", attrs: { type: "button" } });
    const verifyButton = element("button", { className: "button", text: "Check this slice with the server", attrs: { type: "button" } });
    const verifyOut = element("div", { className: "scan-verify" });
    const csvButton = element("button", { className: "button", text: "Download CSV (one line per slice)", attrs: { type: "button" } });
    let explained = null; // the latest heatmap drawn, {index, ...explanation}, for the viewer's overlay
    const viewButton = viewerButton(() => ({ title: scan.name, slice: current, pixels: () => classifier.scanPixels(scan.scan),
      heatmap: () => (explained?.index === current ? explained : null) }));
    const notes = summary.notes.map((note) => element("p", { className: "hint", text: note }));
    const said = scan.scope?.label ? [element("p", { className: "hint", text: `The header says: ${scan.scope.label}.` })] : [];
    const verdict = scan.level === "not-mri"
      ? [element("p", { className: "scan-summary not-mri", text: "No result for this series: the model was trained on axial " +
          "T1, T1 with contrast, T2 and FLAIR brain MRI slices only, and its headers say:" }),
        element("ul", { className: "scan-reasons" }, scan.reasons.map((reason) => element("li", { text: reason })))]
      : [element("p", { className: "scan-summary", text: summaryText(summary, percent) })];
    card.append(
      ...verdict,
      ...said,
      ...notes,
      strip,
      element("label", { className: "scan-slider" }, [element("span", { text: "Slice " }), slider, sliceLabel]),
      element("div", { className: "scan-detail" }, [
        element("div", { className: "stage scan-stage" }, [preview, heatmap]),
        element("div", {}, [classes, caption, element("div", { className: "button-row" }, [explainButton, viewButton, verifyButton, csvButton]), verifyOut]),
      ]),
    );
    drawStrip(strip, size.slices, byIndex, summary.threshold);
    let current = -1;
    const select = async (index) => {
      if (index === current) return;
      current = index;
      slider.value = String(index);
      const result = byIndex.get(index);
      sliceLabel.textContent = `${index} of ${size.slices - 1}` + (result ? `: tumour probability ${percent(result.tumorProbability)}` : ": not classified (too little head)");
      classes.replaceChildren(...(result ? metadata.labels.map((label) => probabilityBar(label, result)) : []));
      explainButton.disabled = !result;
      verifyButton.disabled = !result;
      verifyOut.replaceChildren();
      caption.textContent = "";
      heatmap.getContext("2d").clearRect(0, 0, heatmap.width, heatmap.height);
      drawStrip(strip, size.slices, byIndex, summary.threshold, index);
      const bitmap = await classifier.renderSlice(scan.scan, index);
      if (current !== index) return bitmap.close();
      preview.width = bitmap.width;
      preview.height = bitmap.height;
      preview.getContext("2d").drawImage(bitmap, 0, 0);
      bitmap.close();
    };
    slider.addEventListener("input", () => select(Number(slider.value)));
    strip.addEventListener("click", (event) => {
      const box = strip.getBoundingClientRect();
      select(Math.min(size.slices - 1, Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * size.slices))));
    });
    explainButton.addEventListener("click", async () => {
      const index = current;
      const result = byIndex.get(index);
      if (!result) return;
      caption.textContent = "Computing where the model looked…";
      try {
        const explanation = await classifier.explainSlice(scan.scan, index, { label: result.label });
        if (current !== index) return;
        drawHeatmap(heatmap, preview, explanation);
        explained = { index, ...explanation };
        caption.textContent = `Heatmap for "${explanation.label}" on slice ${index}: bright where hiding a ` +
          `${explanation.patch}-pixel square lowered its probability most.`;
      } catch (err) {
        caption.textContent = `No heatmap: ${err.message}`;
      }
    });
    verifyButton.addEventListener("click", async () => {
      const index = current;
      const local = byIndex.get(index);
      if (!local) return;
      verifyButton.disabled = true;
      verifyOut.replaceChildren(element("p", { text: "Sending this slice, as a PNG of its pixels, to the server…" }));
      try {
        // Only the slice's pixels as PNG: never the file, whose header may hold text or patient data.
        const server = await askServer(await classifier.pngSlice(scan.scan, index), `slice-${index}.png`);
        if (current !== index) return;
        verifyOut.replaceChildren(element("p", { text: `Server: ${server.label}, tumour probability ` +
          `${percent(server.tumorProbability)} (this browser: ${local.label}, ${percent(local.tumorProbability)}).` }));
      } catch (err) {
        verifyOut.replaceChildren(element("p", { className: "error", text: err.message }));
      } finally {
        verifyButton.disabled = false;
      }
    });
    csvButton.addEventListener("click", () => {
      downloadCsv(scanCsv(scan.name, size.slices, scan.slices, metadata.labels), "mri-scan-slices.csv");
    });
    select(summary.mostLikely[0]?.index ?? Math.floor(size.slices / 2));
  }

  return {
    /** Classifies the scans among `files` (in the background) and returns the other files. */
    async take(files) {
      // Should the worker fail to start, every file goes the image way, whose rows say why.
      const split = await classifier.split(files).catch(() => ({ scans: [], images: files.map((_, i) => i) }));
      for (const { kind, files: indices } of split.scans) {
        const group = indices.map((i) => files[i]);
        addScan({ name: scanName(kind, group), files: group });
      }
      return split.images.map((i) => files[i]);
    },
  };
}

// One bar per slice, its height the tumour probability; grey ticks for slices not classified.
function drawStrip(canvas, count, byIndex, threshold, selected = -1) {
  const context = canvas.getContext("2d");
  const width = canvas.width / count;
  context.clearRect(0, 0, canvas.width, canvas.height);
  for (let k = 0; k < count; k += 1) {
    const result = byIndex.get(k);
    if (!result) {
      context.fillStyle = "#8884";
      context.fillRect(k * width, STRIP_HEIGHT - 4, width, 4);
      continue;
    }
    const p = result.tumorProbability;
    context.fillStyle = p >= threshold ? "#c0392b" : "#2e86c1";
    context.fillRect(k * width, STRIP_HEIGHT * (1 - p), Math.max(1, width - 1), STRIP_HEIGHT * p);
  }
  context.fillStyle = "#888";
  context.fillRect(0, STRIP_HEIGHT * (1 - threshold), canvas.width, 1);
  if (selected >= 0) {
    context.strokeStyle = "#f1c40f";
    context.lineWidth = 2;
    context.strokeRect(selected * width, 1, width, STRIP_HEIGHT - 2);
  }
}
