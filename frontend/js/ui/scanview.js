// The page's scan view: NIfTI volumes and DICOM series taken out of a batch of files, each
// classified slice by slice in the worker and shown as a card (scancard.js). Each scan is also an
// item of the batch (state.scans): the batch bar counts it, exports its summary line and clears it.
import { $, element } from "./dom.js";
import { showScan } from "./scancard.js";
import { state } from "./state.js";
import { updateProgress } from "./table.js";

// A scan as the worker's split names it -> the card's title.
function scanName(kind, group) {
  if (kind === "nifti") return group[0].webkitRelativePath || group[0].name;
  const folder = group[0].webkitRelativePath?.split("/").slice(0, -1).join("/");
  return folder ? `${folder} (DICOM series, ${group.length} files)` : `DICOM series of ${group.length} files`;
}

const pending = () => state.scans.some((s) => s.status === "queued" || s.status === "running");

/** The scans section of the page; `take(files)` classifies the scans among them and returns the rest. */
export function startScanView(classifier) {
  let metadata = null;
  classifier.info.then((info) => { metadata = info.metadata; }, () => undefined);
  const panel = element("section", { className: "panel", attrs: { id: "scans-panel", "aria-labelledby": "scans-heading", hidden: "" } }, [
    element("h2", { text: "Scans", attrs: { id: "scans-heading" } }),
    element("p", { className: "hint", text: "Each NIfTI volume or DICOM series is read and classified slice by slice in this " +
      "browser. The strip shows the tumour probability of each axial slice; its legend says what the colours mean." }),
  ]);
  const anchor = document.getElementById("results-panel");
  anchor.parentNode.insertBefore(panel, anchor);
  let queue = Promise.resolve();

  // Registered before the table's own Clear (ui.js starts the rows, and so this view, first), so
  // the batch bar it then redraws counts no scan.
  $("clear").addEventListener("click", () => {
    state.scans.length = 0;
    for (const card of panel.querySelectorAll(".scan-card")) card.remove();
    panel.hidden = true;
  });

  function addScan({ name, kind, files }) {
    panel.hidden = false;
    if (!state.running && !pending()) state.batchStarted = performance.now();
    const record = { name, kind: kind === "nifti" ? "nifti" : "dicom-series", status: "queued", scan: null, error: null };
    state.scans.push(record);
    $("clear").disabled = false;
    updateProgress();
    const status = element("p", { className: "scan-status", text: `Reading ${name}…`, attrs: { role: "status" } });
    const card = element("article", { className: "scan-card", attrs: { "data-scan": name } }, [
      element("h3", { text: name }), status]);
    panel.append(card);
    queue = queue.then(async () => {
      if (!state.scans.includes(record)) return; // cleared before its turn
      record.status = "running";
      try {
        status.textContent = `Classifying ${name}…`;
        const scan = await classifier.classifyScan(files, { name });
        await classifier.info;
        if (!state.scans.includes(record)) return;
        Object.assign(record, { status: "done", scan });
        showScan(card, status, scan, { classifier, metadata });
      } catch (err) {
        Object.assign(record, { status: "error", error: err.message });
        status.textContent = err.message;
        status.classList.add("error");
        card.classList.add("failed");
      }
      updateProgress();
    });
    return queue;
  }

  return {
    /** Classifies the scans among `files` (in the background) and returns the other files. */
    async take(files) {
      // Should the worker fail to start, every file goes the image way, whose rows say why.
      const split = await classifier.split(files).catch(() => ({ scans: [], images: files.map((_, i) => i) }));
      for (const { kind, files: indices } of split.scans) {
        const group = indices.map((i) => files[i]);
        addScan({ name: scanName(kind, group), kind, files: group });
      }
      return split.images.map((i) => files[i]);
    },
  };
}
