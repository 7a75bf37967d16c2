// A classified image -> its verdict: the reliability rule on the model input, then the level
// from metadata.decision's cut-offs. Computed here, once per result; the page only reads it.
import { percent } from "../shared/format.js";
import { NOT_MRI_CODES, RELIABILITY, resultLevel, tumourVerdict } from "../shared/results.js";
import { meanChroma } from "./preprocess.js";

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
