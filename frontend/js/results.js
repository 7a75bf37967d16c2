// Model output -> what the page and window.classifier report. DOM-free, tested by Node.

// The "uncertain / may not be a brain MRI" rule. A result is flagged when the model spreads its
// answer (top probability below minConfidence) or when the input does not look like the slices
// the model was trained on. The input thresholds sit outside what 1,500 real slices of the three
// sets in ../shared/data showed (their extremes in brackets); bench/ood_rule.py measures the rule
// on MRI and on generated non-MRI images (reports/ood-rule.md).
export const RELIABILITY = Object.freeze({
  // Top probability below this: the model is unsure between classes.
  minConfidence: 0.6,
  // Mean (max - min) of R, G, B, 0-255. MRI slices are gray [max 6.5].
  maxChroma: 12,
  // The outer band (this fraction of the side) of the model input should be mostly background:
  // slices are photographed on black [share of band below darkLevel: 0.5th percentile 0.08].
  borderFraction: 1 / 16,
  darkLevel: 40,
  minBorderDark: 0.25,
  // Standard deviation of the model input: a near-uniform image holds nothing to classify [min 12].
  minContrast: 8,
  // Mean of the model input: slices are mostly dark [max 144].
  maxMean: 160,
});

/**
 * The answer in words: tumour likely or not (tumour probability >= 0.5) and, when likely, the
 * most probable tumour type with its share of the tumour probability.
 */
export function tumourVerdict(result, metadata) {
  const tumourLabels = metadata.labels.filter((label) => label !== metadata.no_tumor_label);
  const tumour = result.tumorProbability >= 0.5;
  const likelyType = tumourLabels.reduce((best, label) =>
    (result.probabilities[label] > result.probabilities[best] ? label : best), tumourLabels[0]);
  return {
    tumour,
    headline: tumour ? "Tumour likely" : "No tumour detected",
    likelyType: tumour ? likelyType : null,
    confidence: Math.max(...Object.values(result.probabilities)),
  };
}

/**
 * Statistics of the model input (Float32Array [h * w * c], 0-255) that the reliability rule
 * reads: {borderDark, mean, contrast}.
 */
export function inputStatistics(input, { height, width, channels }) {
  const band = Math.max(1, Math.round(Math.min(height, width) * RELIABILITY.borderFraction));
  let sum = 0;
  let sumSquares = 0;
  let border = 0;
  let borderDark = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * channels;
      const v = channels === 1 ? input[i] : 0.299 * input[i] + 0.587 * input[i + 1] + 0.114 * input[i + 2];
      sum += v;
      sumSquares += v * v;
      if (y < band || y >= height - band || x < band || x >= width - band) {
        border += 1;
        if (v < RELIABILITY.darkLevel) borderDark += 1;
      }
    }
  }
  const n = height * width;
  const mean = sum / n;
  return { borderDark: borderDark / border, mean, contrast: Math.sqrt(Math.max(sumSquares / n - mean * mean, 0)) };
}

/**
 * The reliability rule: [{code, message}], empty when the result can be read at face value.
 * Codes: "low-confidence" (the model is unsure) and, for inputs unlike brain MRI slices,
 * "colour", "uniform", "no-background". `stats` is inputStatistics(...) plus `chroma`
 * (meanChroma of the decoded image).
 */
export function reliabilityWarnings(result, stats) {
  const r = RELIABILITY;
  const warnings = [];
  const confidence = Math.max(...Object.values(result.probabilities));
  if (confidence < r.minConfidence) {
    warnings.push({ code: "low-confidence", message: `The model is unsure: its top answer has only ${percent(confidence)} probability.` });
  }
  if (stats.chroma > r.maxChroma) {
    warnings.push({ code: "colour", message: "This is a colour image; MRI slices are grayscale, so it may not be a brain MRI." });
  }
  if (stats.contrast < r.minContrast) {
    warnings.push({ code: "uniform", message: "The image is almost uniform; there is little for the model to read." });
  }
  if (stats.borderDark < r.minBorderDark || stats.mean > r.maxMean) {
    warnings.push({ code: "no-background", message: "The image lacks the dark background around a brain slice; it may not be a brain MRI, or it is cropped unlike the training images." });
  }
  return warnings;
}

/** Local and server answers side by side: {sameLabel, largest: {label, local, server, difference}}. */
export function compareAnswers(local, server) {
  const labels = [...new Set([...Object.keys(local.probabilities), ...Object.keys(server.probabilities)])];
  let largest = null;
  for (const label of labels) {
    const a = local.probabilities[label] ?? 0;
    const b = server.probabilities[label] ?? 0;
    const difference = Math.abs(a - b);
    if (!largest || difference > largest.difference) largest = { label, local: a, server: b, difference };
  }
  return { sameLabel: local.label === server.label, largest };
}

/** 0.1234 -> "12.3 %" (narrow no-break space before the sign). */
export function percent(p, digits = 1) {
  return `${(p * 100).toFixed(digits)}\u202f%`;
}

// Table columns and the value each sorts by; rows without a value (pending, failed) sort last.
export const SORT_KEYS = Object.freeze({
  name: (row) => row.name,
  verdict: (row) => row.result?.tumorProbability,
  type: (row) => (row.result ? row.result.label : undefined),
  confidence: (row) => (row.result ? Math.max(...Object.values(row.result.probabilities)) : undefined),
  ms: (row) => row.result?.ms,
  status: (row) => row.status,
});

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** A sorted copy of the table rows; direction 1 ascending, -1 descending; ties keep file order. */
export function sortRows(rows, key, direction = 1) {
  const value = SORT_KEYS[key];
  if (!value) throw new Error(`Unknown sort key ${key}; known: ${Object.keys(SORT_KEYS).join(", ")}`);
  return rows
    .map((row, index) => ({ row, index, v: value(row) }))
    .sort((a, b) => {
      if (a.v === undefined || b.v === undefined) {
        return (a.v === undefined) - (b.v === undefined) || a.index - b.index;
      }
      const order = typeof a.v === "string" ? collator.compare(a.v, b.v) : a.v - b.v;
      return order * direction || a.index - b.index;
    })
    .map(({ row }) => row);
}
