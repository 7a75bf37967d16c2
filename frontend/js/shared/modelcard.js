// metadata.json -> checks and the model card's content. DOM-free, tested by Node.
import { collectionOf, sequencesAndPlanes } from "./collections.js";
import { MAX_AXIAL_TILT_DEGREES } from "./scope.js";
import { percent } from "./format.js";
import { LEVEL_HEADLINES, RELIABILITY, decisionOf } from "./results.js";

export const DISCLAIMER = "Research and education only. This is not a medical device and must not be " +
  "used for diagnosis or treatment decisions.";

// What every model's card says, whatever its metadata adds.
export const STANDING_LIMITS = Object.freeze([
  "It reads one 2-D slice at a time, not a whole scan or series, and knows nothing of the patient.",
  "It knows only the classes it was trained on; any other finding is forced into one of them.",
  "Scans from scanners, sequences, planes or collections unlike its training data can be misread " +
    "confidently: the held-out figures do not carry over to them.",
  "The heatmap shows which regions changed its answer when hidden, not where a tumour is.",
]);

function formatValue(key, value) {
  if (typeof value === "number") {
    const isShare = value >= 0 && value <= 1 && !Number.isInteger(value) && !/loss|ms|seconds|lr|rate|ece/i.test(key);
    if (isShare) return `${(value * 100).toFixed(1)} %`;
    return Number.isInteger(value) ? value.toLocaleString("en") : String(Number(value.toPrecision(4)));
  }
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ");
  return String(value);
}

/** A nested object as [label, text] rows, nested keys joined with " › ". */
export function flattenFacts(object, prefix = "") {
  if (!object || typeof object !== "object") return [];
  return Object.entries(object).flatMap(([key, value]) => {
    const label = prefix ? `${prefix} › ${key.replaceAll("_", " ")}` : key.replaceAll("_", " ");
    if (value && typeof value === "object" && !Array.isArray(value)) return flattenFacts(value, label);
    return [[label, formatValue(key, value)]];
  });
}

// The figures training/evaluate.py records that need a reader's background: behind a disclosure.
const TECHNICAL_NAMES = {
  n: "images",
  accuracy: "accuracy (all classes)",
  macro_f1: "macro F1",
  tumor_sensitivity: "tumour sensitivity",
  tumor_specificity: "tumour specificity",
  tumor_roc_auc: "tumour vs no tumour, ROC AUC",
  ece: "calibration error (ECE, lower is better)",
  tumor_images: "tumour images",
  no_tumor_images: "no-tumour images",
};

const lastPathPart = (path) => String(path).split(/[\\/]/).filter(Boolean).pop() ?? String(path);
const share = (value) => `${(value * 100).toFixed(1)} %`;
const count = (value) => formatValue("n", value);
const section = (title, parts) => ({ rows: [], tables: [], notes: [], technical: null, ...parts, title });

function technicalRows(block, prefix) {
  return Object.keys(TECHNICAL_NAMES).filter((key) => block[key] != null)
    .map((key) => [`${prefix} › ${TECHNICAL_NAMES[key]}`, formatValue(key, block[key])]);
}

function evaluationTables(block, labels) {
  const tables = [];
  if (block.per_class) {
    tables.push({
      caption: "Per class (held-out test set)",
      columns: ["class", "precision", "recall", "images"],
      rows: Object.entries(block.per_class).map(([label, m]) =>
        [label, formatValue("precision", m.precision), formatValue("recall", m.recall), formatValue("support", m.support)]),
    });
  }
  if (Array.isArray(block.confusion_matrix) && block.confusion_matrix.length === labels.length) {
    tables.push({
      caption: "Confusion matrix: rows are the true class, columns the model's answer",
      columns: ["true \\ answer", ...labels],
      rows: block.confusion_matrix.map((row, i) => [labels[i], ...row.map((v) => formatValue("n", v))]),
    });
  }
  return tables;
}

// "95.9 % of 831" when the count is known.
const ofCount = (value, n) => `${share(value)}${n != null ? ` of ${count(n)}` : ""}`;

// The unseen collections' tumour figures: the card's first warning.
function scannerWarning(metrics) {
  const external = (metrics?.external ?? []).filter((check) => check.tumor_sensitivity != null);
  if (!external.length) {
    return "Expect fewer tumours found on scans from other hospitals and scanners: this model was not tested on a " +
      "collection it never saw, so nobody knows how many it misses there.";
  }
  const found = external.map((check) => `${share(check.tumor_sensitivity)} of the tumours in ` +
    `${lastPathPart(check.data ?? "another collection")}`).join(" and ");
  return `Expect fewer tumours found on your own scans: on collections it never saw in training it found only ${found}, ` +
    "against the test figures below. A \"No tumour found\" does not rule a tumour out.";
}

function howToRead(metadata) {
  const { tumour, possible, recorded } = decisionOf(metadata);
  const rule = metadata.decision?.possible_rule;
  return section("How to read a result", {
    rows: [
      [LEVEL_HEADLINES.likely, `tumour probability ${percent(tumour, 0)} or more; the likely type is named with its probability`],
      [LEVEL_HEADLINES.possible, `tumour probability from ${percent(possible, 0)} to below ${percent(tumour, 0)}: ` +
        "the model leans to no tumour, but tumours it misses often score here"],
      [LEVEL_HEADLINES.none, `tumour probability below ${percent(possible, 0)}`],
      ["No result", "the image does not look like a brain MRI slice (colour, almost uniform, or no dark background " +
        "around the head), or its DICOM header says it is outside what the model knows: another modality, a " +
        "secondary capture, diffusion (DWI, ADC, DTI), EPI (fMRI, BOLD, perfusion), a localiser, angiography or " +
        `SWI, or a plane more than ${MAX_AXIAL_TILT_DEGREES} degrees from axial; the model's answer would mean nothing, so none is given`],
      ["uncertain", `marked beside a result when the most likely class has less than ${percent(RELIABILITY.minConfidence, 0)} ` +
        "probability: the model is torn between classes"],
    ],
    notes: [recorded
      ? `The ${percent(possible, 0)} cut-off was chosen on the validation images (${rule ?? "recorded in metadata.json"}); ` +
        "reports/operating-points.md counts what the middle level catches and flags on the test images and an unseen collection."
      : "This model's metadata records no cut-offs: these are the page's defaults, not chosen for this model."],
  });
}

function trainingSection(training) {
  if (!training) return section("What it was trained on", { notes: ["metadata.json records no training details."] });
  const { sequences, planes } = sequencesAndPlanes(training.data);
  const rows = [];
  if (sequences.length) rows.push(["MRI sequences", sequences.join(", ")]);
  // The page reads every scan as axial slices and withholds other planes (scope.js); the few
  // coronal and sagittal slices of the 4-class set are not what it was made for.
  if (planes.length) {
    const others = planes.filter((p) => !/axial/.test(p));
    rows.push(["slice planes", `axial${others.length ? ` (the 4-class set also holds a few ${others.join(" and ")} slices)` : ""}`]);
  }
  if (training.class_counts) {
    rows.push(["images per class", Object.entries(training.class_counts).map(([k, v]) => `${k} ${count(v)}`).join(", ")]);
  }
  if (training.split) {
    const total = (subset) => Object.values(subset).reduce((a, b) => a + b, 0);
    const parts = Object.entries(training.split).map(([name, subset]) => `${name} ${count(total(subset))}`);
    rows.push(["split", `${parts.join(", ")}; near-duplicate images and each patient's slices kept on one side`]);
  }
  if (training.date) rows.push(["trained", String(training.date).slice(0, 10)]);
  const notes = [].concat(training.data ?? []).map((path) => {
    const c = collectionOf(path);
    return c.title ? `${c.folder}: ${c.title}; ${c.source}. Cite: ${c.cite}.` : `${c.folder}: no source recorded.`;
  });
  const technical = [];
  const known = { split_rule: "split rule", augmentation: "augmentation", epochs_run: "epochs", note: "note" };
  for (const [key, label] of Object.entries(known)) if (training[key] != null) technical.push([label, formatValue(key, training[key])]);
  return section("What it was trained on", { rows, notes, technical: technical.length ? { rows: technical, tables: [] } : null });
}

// metadata.metrics -> plain rows (what share it got right) and the technical figures behind them.
function resultsSection(metrics, labels) {
  const rows = [];
  const technical = [];
  const tables = [];
  const test = metrics?.test;
  if (test) {
    if (test.tumor_sensitivity != null) rows.push(["tumours found among the test scans", ofCount(test.tumor_sensitivity, test.tumor_images)]);
    if (test.tumor_specificity != null) rows.push(["normal test scans called normal", ofCount(test.tumor_specificity, test.no_tumor_images)]);
    if (test.accuracy != null) rows.push(["right class of the four, test scans", ofCount(test.accuracy, test.n)]);
  }
  for (const [key, value] of Object.entries(metrics ?? {})) {
    if (value && typeof value === "object" && !Array.isArray(value) && ("accuracy" in value || "n" in value)) {
      technical.push(...technicalRows(value, key));
      tables.push(...evaluationTables(value, labels));
      for (const [name, block] of Object.entries(value.per_collection ?? {})) technical.push(...technicalRows(block, `${key} › ${name}`));
    } else if (key === "external" && Array.isArray(value)) {
      for (const check of value) {
        const name = lastPathPart(check.data ?? "another collection");
        if (check.tumor_sensitivity != null) rows.push([`tumours found in ${name}, never seen in training`, ofCount(check.tumor_sensitivity, check.tumor_images)]);
        if (check.tumor_specificity != null) rows.push([`normal scans of ${name} called normal`, ofCount(check.tumor_specificity, check.no_tumor_images)]);
        technical.push(...technicalRows(check, `unseen ${name}`));
      }
    } else if (key === "cpu_ms_per_image") {
      technical.push(["Keras CPU ms per image", formatValue(key, value)]);
    } else if (key !== "report") {
      technical.push(...flattenFacts({ [key]: value }));
    }
  }
  const notes = rows.length || technical.length ? [] : ["No held-out figures are recorded for this model: treat its answers as untested."];
  if (rows.length) notes.push("Test scans are held-out images from the training collections; no choice was made by looking at them.");
  return section("How well it did", { rows, notes, technical: technical.length || tables.length ? { rows: technical, tables } : null });
}

// What the converter recorded about the TF.js model the page runs (metadata.json "tfjs").
function browserModelFacts(tfjs) {
  if (!tfjs) return [];
  const facts = [];
  if (tfjs.total_bytes) {
    const weights = !tfjs.quantization || tfjs.quantization === "none" ? "float32" : tfjs.quantization;
    facts.push(["download", `${(tfjs.total_bytes / 1024).toFixed(0)} KiB (${weights} weights)`]);
  }
  const check = tfjs.verification;
  if (check && Number.isFinite(check.max_abs_diff)) {
    facts.push(["checked against Keras", `${check.inputs} inputs, largest probability difference ` +
      `${check.max_abs_diff.toExponential(1)}, same top class on ${(check.top1_agreement * 100).toFixed(1)} %`]);
  }
  return facts;
}

/**
 * metadata.json -> the model card's sections, the warning about other scanners first:
 * [{title, rows: [[label, text]], tables: [{caption, columns, rows}], notes: [text],
 *   technical: null | {rows, tables}}]. Every row is in plain words; `technical` holds the
 * figures that need a reader's background, for a disclosure.
 */
export function modelCard(metadata, version) {
  const { labels, no_tumor_label: noTumour, input } = metadata;
  const extraLimits = [].concat(metadata.limitations ?? metadata.limits ?? []);
  return [
    section("Before you use it", { notes: [scannerWarning(metadata.metrics), DISCLAIMER] }),
    howToRead(metadata),
    trainingSection(metadata.training),
    resultsSection(metadata.metrics, labels),
    section("The model", {
      rows: [
        ["reads", `one 2-D slice, as a ${input.height} × ${input.width} ${input.channels === 1 ? "grayscale" : "colour"} image`],
        ["answers", labels.map((l) => (l === noTumour ? `${l} (no tumour)` : l)).join(", ")],
        ["version", version],
      ],
      technical: { rows: [["architecture", String(metadata.architecture ?? "not recorded")], ...browserModelFacts(metadata.tfjs)], tables: [] },
    }),
    section("Limits", { notes: [...STANDING_LIMITS, ...extraLimits.map(String)] }),
  ];
}
