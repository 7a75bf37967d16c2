// metadata.json -> checks and the model card's content. DOM-free, tested by Node.

export const DISCLAIMER = "Research and education only. This is not a medical device and must not be " +
  "used for diagnosis or treatment decisions.";

// What every model's card says, whatever its metadata adds.
export const STANDING_LIMITS = Object.freeze([
  "It reads one 2-D slice at a time, not a whole scan or series, and knows nothing of the patient.",
  "It knows only the classes it was trained on; any other finding is forced into one of them.",
  "Scans from scanners, sequences or collections unlike its training data can be misread " +
    "confidently: the held-out figures do not carry over to them.",
  "The heatmap shows which regions changed its answer when hidden, not where a tumour is.",
]);

// cyrb53: a fast 53-bit string hash. Only a cache key, so no need for crypto.subtle (which
// plain-http hosts other than localhost do not offer).
function hash53(text) {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * The model's version: metadata.version when the converter records one, else a hash of
 * metadata.json (a retrained model comes with new metrics, so new metadata).
 */
export function modelVersion(metadata, text) {
  return String(metadata.version ?? hash53(text));
}

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

// Names a reader understands for the figures training/evaluate.py records, in display order.
const METRIC_NAMES = {
  n: "images",
  accuracy: "accuracy (all classes)",
  macro_f1: "macro F1",
  tumor_sensitivity: "tumours found (sensitivity)",
  tumor_specificity: "no-tumour scans cleared (specificity)",
  tumor_roc_auc: "tumour vs no tumour, ROC AUC",
  ece: "calibration error (ECE, lower is better)",
  tumor_images: "tumour images",
  no_tumor_images: "no-tumour images",
};

const lastPathPart = (path) => String(path).split(/[\\/]/).filter(Boolean).pop() ?? String(path);

function metricRows(block) {
  return Object.keys(METRIC_NAMES).filter((key) => block[key] != null)
    .map((key) => [METRIC_NAMES[key], formatValue(key, block[key])]);
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

// metadata.metrics -> rows, tables and notes of the "Held-out results" section.
function heldOutResults(metrics, labels) {
  const rows = [];
  const tables = [];
  const notes = [];
  for (const [key, value] of Object.entries(metrics ?? {})) {
    if (value && typeof value === "object" && !Array.isArray(value) && ("accuracy" in value || "n" in value)) {
      rows.push(...metricRows(value).map(([name, text]) => [`${key} › ${name}`, text]));
      tables.push(...evaluationTables(value, labels));
    } else if (key === "external" && Array.isArray(value)) {
      for (const check of value) {
        const name = lastPathPart(check.data ?? "another collection");
        rows.push(...metricRows(check).map(([metric, text]) => [`unseen collection ${name} › ${metric}`, text]));
        if (check.tumor_sensitivity != null) {
          notes.push(`On ${name}, a collection it never saw in training, it found ` +
            `${formatValue("s", check.tumor_sensitivity)} of tumours: expect less than the test figures on your own scans.`);
        }
      }
    } else if (key === "report" || key === "cpu_ms_per_image") {
      if (key === "cpu_ms_per_image") rows.push(["Keras CPU ms per image", formatValue(key, value)]);
    } else {
      rows.push(...flattenFacts({ [key]: value }));
    }
  }
  if (!rows.length) notes.push("No held-out figures are recorded for this model: treat its answers as untested.");
  return { rows, tables, notes };
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

// metadata.training -> rows of the "Training data" section (paths shortened to folder names).
function trainingFacts(training) {
  if (!training) return [];
  const rows = [];
  if (training.data) rows.push(["data sets", [].concat(training.data).map(lastPathPart).join(", ")]);
  if (training.class_counts) {
    rows.push(["images per class", Object.entries(training.class_counts).map(([k, v]) => `${k} ${formatValue("n", v)}`).join(", ")]);
  }
  if (training.split) {
    const total = (subset) => Object.values(subset).reduce((a, b) => a + b, 0);
    rows.push(["split", Object.entries(training.split).map(([name, subset]) => `${name} ${formatValue("n", total(subset))}`).join(", ")]);
  }
  const known = { split_rule: "split rule", augmentation: "augmentation", epochs_run: "epochs", date: "trained", note: "note" };
  for (const [key, label] of Object.entries(known)) if (training[key] != null) rows.push([label, formatValue(key, training[key])]);
  const trained = rows.find(([label]) => label === "trained");
  if (trained) trained[1] = trained[1].slice(0, 10); // the ISO date, without the time
  return rows;
}

/**
 * metadata.json -> the model card's sections:
 * [{title, rows: [[label, text]], tables: [{caption, columns, rows}], notes: [text]}].
 */
export function modelCard(metadata, version) {
  const { labels, no_tumor_label: noTumour, input } = metadata;
  const extraLimits = [].concat(metadata.limitations ?? metadata.limits ?? []);
  const results = heldOutResults(metadata.metrics, labels);
  const training = trainingFacts(metadata.training);
  return [
    {
      title: "Model",
      rows: [
        ["architecture", String(metadata.architecture ?? "not recorded")],
        ["input", `${input.height} × ${input.width} px, ${input.channels === 1 ? "grayscale" : "RGB"}`],
        ["classes", labels.map((l) => (l === noTumour ? `${l} (no tumour)` : l)).join(", ")],
        ["version", version],
        ...browserModelFacts(metadata.tfjs),
      ],
      tables: [],
      notes: [],
    },
    {
      title: "Training data",
      rows: training,
      tables: [],
      notes: training.length ? [] : ["metadata.json records no training details."],
    },
    { title: "Held-out results", ...results },
    { title: "Limits", rows: [], tables: [], notes: [...STANDING_LIMITS, ...extraLimits.map(String)] },
  ];
}
