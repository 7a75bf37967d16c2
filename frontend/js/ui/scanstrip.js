// A scan card's strip: the tumour probability of each slice as a bar, the cut-off as a line, the
// selected slice outlined; with a legend that says so in words.
import { element } from "./dom.js";
import { percent } from "../shared/format.js";

export const STRIP_HEIGHT = 64;
const COLOURS = { above: "#c0392b", below: "#2e86c1", skipped: "#8884", cutoff: "#888", selected: "#f1c40f" };

/** One bar per slice, its height the tumour probability; grey ticks for slices not classified. */
export function drawStrip(canvas, count, byIndex, threshold, selected = -1) {
  const context = canvas.getContext("2d");
  const width = canvas.width / count;
  context.clearRect(0, 0, canvas.width, canvas.height);
  for (let k = 0; k < count; k += 1) {
    const result = byIndex.get(k);
    if (!result) {
      context.fillStyle = COLOURS.skipped;
      context.fillRect(k * width, STRIP_HEIGHT - 4, width, 4);
      continue;
    }
    const p = result.tumorProbability;
    context.fillStyle = p >= threshold ? COLOURS.above : COLOURS.below;
    context.fillRect(k * width, STRIP_HEIGHT * (1 - p), Math.max(1, width - 1), STRIP_HEIGHT * p);
  }
  context.fillStyle = COLOURS.cutoff;
  context.fillRect(0, STRIP_HEIGHT * (1 - threshold), canvas.width, 1);
  if (selected >= 0) {
    context.strokeStyle = COLOURS.selected;
    context.lineWidth = 2;
    context.strokeRect(selected * width, 1, width, STRIP_HEIGHT - 2);
  }
}

/** The strip's key: each colour and the cut-off line in words. */
export function stripLegend(threshold) {
  const item = (swatch, text) => {
    const mark = element("span", { className: `strip-swatch strip-${swatch}`, attrs: { "aria-hidden": "true" } });
    mark.style.setProperty("--swatch", COLOURS[swatch]);
    return element("li", {}, [mark, text]);
  };
  return element("ul", { className: "strip-legend", attrs: { "aria-label": "What the strip shows" } }, [
    item("above", `tumour probability at or above ${percent(threshold, 0)} ("Tumour likely")`),
    item("below", `below ${percent(threshold, 0)}`),
    item("cutoff", `the line: the ${percent(threshold, 0)} cut-off; a bar's height is the slice's tumour probability`),
    item("skipped", "not classified (too little head)"),
    item("selected", "the selected slice; click the strip to select one"),
  ]);
}
