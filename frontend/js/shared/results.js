// The result levels and their words: metadata.decision's cut-offs, the verdict rule (the
// reliability rule on the model input, then the level) and the comparison with the server's
// answer. DOM-free, tested by Node. The worker gives each result its verdict (verdictOf), once;
// the page only reads it, and applies the rule itself only to the server's answer.
import { percent } from "./format.js";

// The thresholds of the "uncertain / may not be a brain MRI" rule (verdictOf applies them; the
// model card states them). A result is flagged when the model spreads its
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
 * Local and server answers side by side: {sameLabel, largest: {label, local, server, difference}}
 * and, given the metadata, what the page would say of each: {levels: {local, server}, types,
 * sameAnswer (same level and, for a tumour, the same likely type)}. The local answer is the
 * worker's, with its level and likely type; the server's level comes from
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
  const serverVerdict = tumourVerdict({ ...serverResult, level: serverLevel }, metadata);
  const levels = { local: local.level, server: serverLevel };
  const types = { local: local.likelyType ?? null, server: serverVerdict.likelyType };
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


// How close to a cut-off a tumour probability may lie before the tumour-or-not answer counts as
// uncertain; and how close the second tumour type may come to the first before the type does.
export const UNCERTAIN = Object.freeze({ cutoffMargin: 0.1, typeRatio: 0.5 });

/**
 * What is uncertain about a result with a verdict: [{about: "tumour" | "type" | "model", text}],
 * empty when nothing is. "tumour": the tumour probability lies in the middle band or within
 * UNCERTAIN.cutoffMargin of a cut-off; "type": the second tumour type has at least
 * UNCERTAIN.typeRatio of the likely type's probability; "model": the worker's low-confidence
 * warning, when neither of those explains it.
 */
export function uncertainties(result, metadata) {
  if (result.level === "not-mri") return [];
  const { tumour: cut, possible } = decisionOf(metadata);
  const p = result.tumorProbability;
  const found = [];
  if (result.level === "possible") {
    found.push({ about: "tumour", text: `Tumour or not: the tumour probability, ${percent(p)}, lies in the middle band ` +
      `(${percent(possible, 0)} to ${percent(cut, 0)}) between "no tumour found" and "tumour likely".` });
  } else {
    const near = [cut, possible].find((c) => Math.abs(p - c) < UNCERTAIN.cutoffMargin);
    if (near !== undefined) {
      found.push({ about: "tumour", text: `Tumour or not: the tumour probability, ${percent(p)}, is close to the ` +
        `${percent(near, 0)} cut-off, so the answer "${LEVEL_HEADLINES[result.level]}" could easily have been another.` });
    }
  }
  if (result.likelyType) {
    const [second] = metadata.labels.filter((l) => l !== metadata.no_tumor_label && l !== result.likelyType)
      .sort((a, b) => result.probabilities[b] - result.probabilities[a]);
    const p2 = second ? result.probabilities[second] : 0;
    if (p2 >= UNCERTAIN.typeRatio * result.typeProbability) {
      found.push({ about: "type", text: `The type: ${result.likelyType} (${percent(result.typeProbability)}) is not far ahead of ` +
        `${second} (${percent(p2)}).` });
    }
  }
  if (!found.length && result.flags?.includes("low-confidence")) {
    const text = result.warnings[result.flags.indexOf("low-confidence")];
    found.push({ about: "model", text });
  }
  return found;
}

/**
 * A shaped result (contract.js shapeResult) and what it was computed from -> the verdict fields
 * of the page's answer: {level, reasons (why "not-mri"), likelyType, typeProbability, uncertain,
 * warnings, flags}. `scope` is scope.js judge's answer on a DICOM header, if any; `features`
 * shared/featurescope.js's answer on the model's own features, if the metadata has the block.
 */
export function verdictOf(result, { input, image, scope = null, features = null }, metadata) {
  const stats = { ...inputStatistics(input, metadata.input), chroma: meanChroma(image) };
  const warnings = reliabilityWarnings(result, stats);
  const flags = warnings.map((w) => w.code);
  // A DICOM header, or features unlike the training images', outside what the model knows withhold the verdict.
  const level = scope?.withheld || features?.outOfScope ? "not-mri" : resultLevel({ ...result, flags }, metadata);
  const { likelyType, typeProbability } = tumourVerdict({ ...result, level }, metadata);
  return {
    level,
    reasons: [...(scope?.reasons ?? []), ...(features?.reason ? [features.reason] : []),
      ...warnings.filter((w) => NOT_MRI_CODES.includes(w.code)).map((w) => w.message)],
    likelyType,
    typeProbability,
    uncertain: warnings.length > 0,
    warnings: warnings.map((w) => w.message),
    flags,
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
 * Mean chroma (max - min of R, G, B) of a decoded image, 0-255, over at most `maxSamples`
 * evenly spread pixels: MRI slices are gray, so a colourful image is not one.
 */
export function meanChroma({ width, height, channels, data }, maxSamples = 65536) {
  if (channels < 3) return 0;
  const n = width * height;
  const step = Math.max(1, Math.floor(n / maxSamples));
  let total = 0;
  let count = 0;
  for (let i = 0; i < n; i += step) {
    const j = i * channels;
    const r = data[j];
    const g = data[j + 1];
    const b = data[j + 2];
    total += Math.max(r, g, b) - Math.min(r, g, b);
    count += 1;
  }
  return count ? total / count : 0;
}
