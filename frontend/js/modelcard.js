// metadata.json -> checks and the model card's content. DOM-free, tested by Node.

export const DISCLAIMER = "Research and education only. This is not a medical device and must not be " +
  "used for diagnosis or treatment decisions.";

// What every model's card says, whatever its metadata adds.
export const STANDING_LIMITS = Object.freeze([
  "It reads one 2-D slice at a time, not a whole scan or series, and knows nothing of the patient.",
  "It knows only the classes it was trained on; any other finding is forced into one of them.",
  "Scans from scanners, sequences or collections unlike its training data can be misread " +
    "confidently: the held-out figures below do not carry over to them.",
  "The heatmap shows which regions changed its answer when hidden, not where a tumour is.",
]);

/** Validates the DESIGN.md contract fields; returns the metadata or throws a sentence. */
export function checkMetadata(metadata) {
  const problems = [];
  const { labels, no_tumor_label: noTumour, input } = metadata ?? {};
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === "string")) {
    problems.push("labels must be a list of at least two class names");
  } else if (!labels.includes(noTumour)) {
    problems.push(`no_tumor_label (${noTumour}) must be one of labels`);
  }
  if (!input || ![input.height, input.width].every((v) => Number.isInteger(v) && v > 0) ||
      ![1, 3].includes(input.channels)) {
    problems.push("input must be {height, width, channels} with positive sizes and 1 or 3 channels");
  }
  if (problems.length) throw new Error(`model/metadata.json is not usable: ${problems.join("; ")}.`);
  return metadata;
}

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
    const isShare = value >= 0 && value <= 1 && !Number.isInteger(value) && !/loss|ms|seconds|lr|rate/i.test(key);
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

// What the converter recorded about the TF.js model the page runs (metadata.json "tfjs").
function browserModelFacts(tfjs) {
  if (!tfjs) return [];
  const facts = [];
  if (tfjs.total_bytes) facts.push(["download", `${(tfjs.total_bytes / 1024).toFixed(0)} KiB (${tfjs.quantization ?? "float32"} weights)`]);
  const check = tfjs.verification;
  if (check && Number.isFinite(check.max_abs_diff)) {
    facts.push(["checked against Keras", `${check.inputs} inputs, largest probability difference ` +
      `${check.max_abs_diff.toExponential(1)}, same top class on ${(check.top1_agreement * 100).toFixed(1)} %`]);
  }
  return facts;
}

/** metadata.json -> the model card's sections: [{title, rows: [[label, text]], notes: [text]}]. */
export function modelCard(metadata, version) {
  const { labels, no_tumor_label: noTumour, input } = metadata;
  const extraLimits = [].concat(metadata.limitations ?? metadata.limits ?? []);
  const metrics = flattenFacts(metadata.metrics);
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
      notes: [],
    },
    {
      title: "Training data",
      rows: flattenFacts(metadata.training),
      notes: metadata.training ? [] : ["metadata.json records no training details."],
    },
    {
      title: "Held-out results",
      rows: metrics,
      notes: metrics.length ? [] : ["No held-out figures are recorded for this model: treat its answers as untested."],
    },
    { title: "Limits", rows: [], notes: [...STANDING_LIMITS, ...extraLimits.map(String)] },
  ];
}
