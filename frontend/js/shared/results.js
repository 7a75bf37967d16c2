// Model output -> what the page and window.classifier report. DOM-free, tested by Node.

// The "uncertain / may not be a brain MRI" rule. A result is flagged when the model spreads its
// answer (top probability below minConfidence) or when the input does not look like the slices
// the model was trained on. The input thresholds sit outside what real slices showed (docs/log.md
// lists their extremes); bench/ood_rule.py measures the rule on MRI and on generated non-MRI
// images (reports/ood-rule.md).
export const RELIABILITY = Object.freeze({
  // Top probability below this: the model is unsure between classes.
  minConfidence: 0.6,
  // Mean (max - min) of R, G, B, 0-255. MRI slices are gray.
  maxChroma: 12,
  // The outer band (this fraction of the side) of the model input should be mostly background:
  // slices are photographed on black.
  borderFraction: 1 / 16,
  darkLevel: 40,
  minBorderDark: 0.25,
  // Standard deviation of the model input: a near-uniform image holds nothing to classify.
  minContrast: 8,
  // Mean of the model input: slices are mostly dark.
  maxMean: 160,
});

// Cut-offs used when metadata.json records none ("decision", written by
// training.operating_points --write-decision): 0.5 for "likely", and a middle band from 0.3.
export const DEFAULT_DECISION = Object.freeze({ tumor_threshold: 0.5, possible_threshold: 0.3 });

// What the page says for each level, in the words a clinician-in-training would use.
export const LEVEL_HEADLINES = Object.freeze({
  likely: "Tumour likely",
  possible: "Possible tumour: look closely",
  none: "No tumour found",
  "not-mri": "No result: this may not be a brain MRI slice",
});

// Reliability codes that mean "not the kind of image the model reads": no verdict is given.
export const NOT_MRI_CODES = Object.freeze(["colour", "uniform", "no-background"]);

/** metadata.decision -> {tumour, possible, recorded}: the two cut-offs, checked, or the defaults. */
export function decisionOf(metadata) {
  const d = metadata?.decision;
  const valid = d && Number.isFinite(d.tumor_threshold) && Number.isFinite(d.possible_threshold) &&
    d.possible_threshold > 0 && d.possible_threshold <= d.tumor_threshold && d.tumor_threshold < 1;
  const { tumor_threshold: tumour, possible_threshold: possible } = valid ? d : DEFAULT_DECISION;
  return { tumour, possible, recorded: Boolean(valid) };
}

/**
 * The result level: "not-mri" when the image does not look like a brain MRI slice (`flags`
 * from reliabilityWarnings), else "likely", "possible" or "none" by the tumour probability.
 */
export function resultLevel(result, metadata) {
  if ((result.flags ?? []).some((code) => NOT_MRI_CODES.includes(code))) return "not-mri";
  const { tumour, possible } = decisionOf(metadata);
  if (result.tumorProbability >= tumour) return "likely";
  return result.tumorProbability >= possible ? "possible" : "none";
}

/** The cut-offs in a sentence, for beside the result and the model card. */
export function cutoffSentence(metadata) {
  const { tumour, possible, recorded } = decisionOf(metadata);
  return `"Tumour likely" from a tumour probability of ${percent(tumour, 0)}; "possible tumour" from ` +
    `${percent(possible, 0)}; below that, "no tumour found"` +
    (recorded ? "." : " (default cut-offs: this model's metadata records none).");
}

/**
 * The answer in words: {level, headline, tumour (level is likely or possible), likelyType,
 * typeProbability}. The likely type, the most probable tumour class, is named only when a
 * tumour is likely or possible.
 */
export function tumourVerdict(result, metadata) {
  const level = result.level ?? resultLevel(result, metadata);
  const tumourLabels = metadata.labels.filter((label) => label !== metadata.no_tumor_label);
  const top = tumourLabels.reduce((best, label) =>
    (result.probabilities[label] > result.probabilities[best] ? label : best), tumourLabels[0]);
  const tumour = level === "likely" || level === "possible";
  return {
    level,
    headline: LEVEL_HEADLINES[level],
    tumour,
    likelyType: tumour ? top : null,
    typeProbability: tumour ? result.probabilities[top] : null,
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

/**
 * Local and server answers side by side: {sameLabel, largest: {label, local, server, difference}}
 * and, given the metadata, what the page would say of each: {levels: {local, server}, types,
 * sameAnswer (same level and, for a tumour, the same likely type)}. The server's level comes from
 * its probabilities by the page's own rule, with the page's flags (both saw the same pixels).
 */
export function compareAnswers(local, server, metadata = null) {
  const labels = [...new Set([...Object.keys(local.probabilities), ...Object.keys(server.probabilities)])];
  let largest = null;
  for (const label of labels) {
    const a = local.probabilities[label] ?? 0;
    const b = server.probabilities[label] ?? 0;
    const difference = Math.abs(a - b);
    if (!largest || difference > largest.difference) largest = { label, local: a, server: b, difference };
  }
  const compared = { sameLabel: local.label === server.label, largest };
  if (!metadata) return compared;
  const serverResult = { probabilities: server.probabilities, tumorProbability: server.tumor_probability ?? server.tumorProbability };
  const serverLevel = resultLevel({ ...serverResult, flags: local.flags ?? [] }, metadata);
  const localVerdict = tumourVerdict(local, metadata);
  const serverVerdict = tumourVerdict({ ...serverResult, level: serverLevel }, metadata);
  const levels = { local: local.level ?? localVerdict.level, server: serverLevel };
  const types = { local: localVerdict.likelyType, server: serverVerdict.likelyType };
  return { ...compared, levels, types, sameAnswer: levels.local === levels.server && types.local === types.server };
}

/** compareAnswers' verdicts in one sentence. */
export function comparisonSentence(local, server, compared) {
  const { levels, types } = compared;
  const said = (level, type, p) => `"${LEVEL_HEADLINES[level]}"${type ? ` (${type})` : ""}, tumour probability ${percent(p)}`;
  const serverP = server.tumor_probability ?? server.tumorProbability;
  if (local.scope?.withheld) {
    return `No verdict in this browser: the DICOM header puts this image outside what the model knows. The server, sent only ` +
      `the pixels, gives a tumour probability of ${percent(serverP)}; that is no verdict either.`;
  }
  if (compared.sameAnswer) {
    return `Same answer: both say "${LEVEL_HEADLINES[levels.local]}"${types.local ? ` (${types.local})` : ""}; tumour ` +
      `probability ${percent(local.tumorProbability)} here, ${percent(serverP)} on the server.`;
  }
  return `Different answers: this browser says ${said(levels.local, types.local, local.tumorProbability)}; ` +
    `the server's probabilities say ${said(levels.server, types.server, serverP)}.`;
}

/**
 * 0.1234 -> "12.3 %" (narrow no-break space before the sign). A value that would round to 100
 * or 0 without being it shows as "> 99.9 %" or "< 0.1 %": 99.997 % is not certainty.
 */
export function percent(p, digits = 1) {
  const step = 10 ** -digits;
  const text = (p * 100).toFixed(digits);
  if (p < 1 && Number(text) >= 100) return `>\u00a0${(100 - step).toFixed(digits)}\u202f%`;
  if (p > 0 && Number(text) <= 0) return `<\u00a0${step.toFixed(digits)}\u202f%`;
  return `${text}\u202f%`;
}

// Result levels from least to most concern, for sorting.
const LEVEL_ORDER = Object.freeze({ "not-mri": 0, none: 1, possible: 2, likely: 3 });

// Table columns and the value each sorts by; rows without a value (pending, failed) sort last.
export const SORT_KEYS = Object.freeze({
  name: (row) => row.name,
  // By level, then tumour probability within a level (the probability is below 1).
  verdict: (row) => (row.result ? LEVEL_ORDER[row.result.level] + row.result.tumorProbability : undefined),
  tumour: (row) => row.result?.tumorProbability,
  type: (row) => row.result?.likelyType ?? undefined,
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
