// The runtime line, the footer's versions and the model card, once the model has loaded.
import { $, element, seconds } from "./dom.js";
import { modelCard } from "../shared/modelcard.js";

function factTable({ caption, columns, rows: cells }) {
  return element("div", { className: "table-wrap card-table" }, [element("table", {}, [
    element("caption", { text: caption }),
    element("thead", {}, [element("tr", {}, columns.map((c) => element("th", { text: c, attrs: { scope: "col" } })))]),
    element("tbody", {}, cells.map(([head, ...rest]) => element("tr", {}, [
      element("th", { text: head, attrs: { scope: "row" } }),
      ...rest.map((v) => element("td", { className: "numeric", text: v })),
    ]))),
  ])]);
}

const factList = (facts) => element("dl", {}, facts.flatMap(([label, value]) =>
  [element("dt", { text: label }), element("dd", { text: value })]));

function renderModelCard(info) {
  // The first section (the warning about other scanners, the disclaimer) leads, as a callout.
  const [first, ...sections] = modelCard(info.metadata, info.version);
  $("card-disclaimer").replaceChildren(...first.notes.map((note) => element("p", { text: note })));
  $("model-card").replaceChildren(...sections.map(({ title, rows: facts, tables, notes, technical }) => {
    const parts = [element("h3", { text: title })];
    if (facts.length) parts.push(factList(facts));
    if (tables.length) parts.push(element("div", { className: "card-tables" }, tables.map(factTable)));
    if (notes.length) parts.push(element("ul", {}, notes.map((note) => element("li", { text: note }))));
    if (technical) {
      parts.push(element("details", { className: "technical" }, [
        element("summary", { text: "Technical figures" }),
        ...(technical.rows.length ? [factList(technical.rows)] : []),
        ...(technical.tables.length ? [element("div", { className: "card-tables" }, technical.tables.map(factTable))] : []),
      ]));
    }
    return element("section", { attrs: { "aria-label": title } }, parts);
  }));
}

export function showModelInfo(info) {
  const details = info.backend === "wasm"
    ? `WebAssembly${info.simd ? ", SIMD" : ""}, ${info.threads > 1 ? `${info.threads} threads` : "1 thread"}`
    : info.backend === "webgl" ? "WebGL" : "plain JavaScript, slow";
  const loaded = info.timings.backend + info.timings.load + info.timings.warmup;
  $("runtime").textContent = `Ready. Runs on ${info.backend} (${details}); model loaded in ${seconds(loaded)}.`;
  $("versions").textContent = `Model version ${info.version} · TensorFlow.js ${info.tfjs} · backend ${info.backend}`;
  renderModelCard(info);
  $("explain-label").replaceChildren(...info.metadata.labels.map((label) => element("option", { text: label, attrs: { value: label } })));
}

export function showLoadFailure(err) {
  $("runtime").textContent = `The model could not be loaded: ${err.message}`;
  $("runtime").classList.add("error");
  $("runtime").setAttribute("role", "alert");
  $("model-card").replaceChildren(element("p", { className: "error", text: err.message }));
}
