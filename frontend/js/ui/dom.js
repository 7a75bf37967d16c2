// Small DOM builders and helpers shared by the page's views (the UI modules, scanview.js).
import { percent } from "../shared/format.js";

export const $ = (id) => document.getElementById(id);

/** <tag class=className attrs...>text or children</tag>. */
export function element(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** One class's probability as a labelled bar; the top class is marked. */
export function probabilityBar(label, result) {
  const p = result.probabilities[label];
  const fill = element("div", { className: "bar-fill" });
  fill.style.setProperty("--p", String(p));
  return element("li", { className: `bar-row${label === result.label ? " top" : ""}` }, [
    element("span", { className: "bar-label", text: label }),
    element("div", { className: "bar-track", attrs: { role: "img", "aria-label": `${label}: ${percent(p)}` } }, [fill]),
    element("span", { className: "bar-value", text: percent(p) }),
  ]);
}

/** Text -> a CSV file downloaded, with a byte-order mark so that spreadsheet programs read UTF-8 names right. */
export function downloadCsv(text, filename) {
  const blob = new Blob(["\uFEFF", text], { type: "text/csv;charset=utf-8" });
  const link = element("a", { attrs: { href: URL.createObjectURL(blob), download: filename } });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

export function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function announce(text) {
  $("announcer").textContent = text;
}
