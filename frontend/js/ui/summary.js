// The batch's summary above the table: the tally by result, and where the folder names are
// labels, the confusion table (folder label x the page's answer) with sensitivity and specificity.
// The counting is shared/batch.js's; this module only shows it.
import { $, element } from "./dom.js";
import { ANY_TUMOUR, OUTCOMES, OUTCOME_WORDS, confusionOf, screeningSentences, tallyLine, tallyOf } from "../shared/batch.js";
import { state } from "./state.js";

// The confusion table's answer columns: the verdicts, no verdict, unreadable (documents have no row).
const ANSWERS = OUTCOMES.filter((key) => key !== "unsupported");
const HEADS = { ...OUTCOME_WORDS, "not-mri": "No verdict", failed: "Unreadable" };

function confusionTable(confusion) {
  const head = element("tr", {}, [element("th", { text: "Folder label", attrs: { scope: "col" } }),
    ...ANSWERS.map((key) => element("th", { className: "numeric", text: HEADS[key], attrs: { scope: "col", "data-answer": key } })),
    element("th", { className: "numeric", text: "Type right", attrs: { scope: "col" } })]);
  const body = confusion.rows.map((row) => element("tr", { attrs: { "data-label": row.label } }, [
    element("th", { text: row.label === ANY_TUMOUR ? "tumour (no type)" : row.label, attrs: { scope: "row" } }),
    ...ANSWERS.map((key) => element("td", { className: "numeric", text: String(row.counts[key]), attrs: { "data-answer": key } })),
    element("td", { className: "numeric", text: row.typeAnswers ? `${row.typeRight} of ${row.typeAnswers}` : "–" }),
  ]));
  return element("table", { attrs: { id: "confusion-table" } }, [
    element("caption", { className: "visually-hidden", text: "Files per folder label (rows) and the page's answer (columns)" }),
    element("thead", {}, [head]), element("tbody", {}, body)]);
}

/** Shows the tally and, when some finished files sit in label folders, the confusion table. */
export function showSummary() {
  const { rows, metadata } = state;
  $("tally").textContent = rows.length ? tallyLine(tallyOf(rows)) : "";
  const confusion = metadata ? confusionOf(rows, metadata) : null;
  $("confusion").hidden = !confusion;
  if (!confusion) return;
  $("confusion-wrap").replaceChildren(confusionTable(confusion));
  $("screening").replaceChildren(...screeningSentences(confusion).map((text) => element("li", { text })));
}
