// "Check with the server": sends the selected image (a DICOM file's displayed frame as PNG) to
// POST /api/predict and shows both answers side by side. A scan card (scancard.js) checks a
// slice with the same notice and comparison.
import { $, element } from "./dom.js";
import { percent } from "../shared/format.js";
import { compareAnswers, comparisonSentence } from "../shared/results.js";
import { state } from "./state.js";
import { askServer } from "./verify.js";

// server - browser in percentage points, "+0.01 pts"; differences that round to zero show as 0.00.
function signedPoints(difference) {
  const value = difference * 100;
  if (Math.abs(value) < 0.005) return "0.00 pts";
  return `${value > 0 ? "+" : "−"}${Math.abs(value).toFixed(2)} pts`;
}

/**
 * What is sent, said before anything is: `what` ("image", "slice") and a last sentence on what
 * leaves the page. -> the paragraph's children.
 */
export function serverNotice(what, tail) {
  return [element("strong", { text: `This sends this one ${what} to the server that hosts this page` }),
    ` (${location.origin}), which runs the same model with Keras and answers. Nothing is sent unless you press the button. ${tail}`];
}

/** The local answer (a result with its verdict) and the server's, side by side: the elements to show. */
export function comparison(local, server) {
  const compared = compareAnswers(local, server, state.metadata);
  const { largest } = compared;
  const labels = [...new Set([...state.metadata.labels, ...Object.keys(server.probabilities)])];
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
    // Levels and likely types, not only the top class: "possible tumour" and "notumor" differ.
    element("p", { className: "verify-verdict", text: comparisonSentence(local, server, compared) }),
    element("p", { text: `Largest probability difference: ${(largest.difference * 100).toFixed(2)} percentage points (${largest.label}).` }),
    table,
    ...(local.dicom ? [element("p", { className: "hint", text: "The server read the frame as an 8-bit PNG; this " +
      "browser used the unrounded windowed values, so differences of a fraction of a point are expected." })] : []),
    element("p", { className: "hint", text: `Server model: ${server.model ?? "not named"}${server.ms != null ? `, ${Number(server.ms).toFixed(1)} ms` : ""}.` }),
  ];
}

export function wireServerCheck() {
  $("verify-notice").replaceChildren(...serverNotice("image", "For DICOM files only the displayed pixels are sent, as a PNG without the file's header."));
  $("verify").addEventListener("click", async () => {
    const row = state.selected;
    if (!row?.result) return;
    const local = row.result;
    const out = $("verify-result");
    const button = $("verify");
    button.disabled = true;
    out.replaceChildren(element("p", { text: "Sending the image to the server…" }));
    try {
      // DICOM: the displayed frame as PNG, never the file (its header holds patient data).
      const image = local.dicom ? await state.classifier.png(row.file, { frame: row.frame }) : row.file;
      const extension = local.dicom ? "png" : (row.file.name.split(".").pop() || "img");
      const server = await askServer(image, `image.${extension}`);
      if (state.selected === row) out.replaceChildren(...comparison(local, server));
    } catch (err) {
      if (state.selected === row) out.replaceChildren(element("p", { className: "error", text: err.message }));
    } finally {
      button.disabled = false;
    }
  });
}
