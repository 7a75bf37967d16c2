// The model contract on the page: what metadata.json must say and the shape of every answer.
// The twin of mri/contract.py (tests/test_contract.py feeds both the same files);
// docs/contract.md describes it. DOM-free, tested by Node.

/** Every way `metadata` (metadata.json parsed) breaks the contract; [] when it keeps it. */
export function metadataProblems(metadata) {
  const problems = [];
  const { labels, no_tumor_label: noTumour, input } = metadata && typeof metadata === "object" && !Array.isArray(metadata) ? metadata : {};
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === "string")) {
    problems.push("labels must be a list of at least two class names");
  } else if (!labels.includes(noTumour)) {
    problems.push(`no_tumor_label (${noTumour ?? "null"}) must be one of labels`);
  }
  if (!input || typeof input !== "object" || ![input.height, input.width].every((v) => Number.isInteger(v) && v > 0) ||
      ![1, 3].includes(input.channels)) {
    problems.push("input must be {height, width, channels} with positive sizes and 1 or 3 channels");
  }
  return problems;
}

/** Returns the metadata, or throws a sentence naming every problem at once. */
export function checkMetadata(metadata) {
  const problems = metadataProblems(metadata);
  if (problems.length) throw new Error(`model/metadata.json is not usable: ${problems.join("; ")}.`);
  return metadata;
}

/** Model output (one row of probabilities, in metadata.labels order) -> the contract's result. */
export function shapeResult(probabilities, metadata, ms) {
  const { labels, no_tumor_label: noTumour } = metadata;
  if (probabilities.length !== labels.length) {
    throw new Error(`The model gave ${probabilities.length} probabilities but metadata.json lists ` +
      `${labels.length} labels (${labels.join(", ")}); the model and its metadata do not match.`);
  }
  const byLabel = Object.fromEntries(labels.map((label, i) => [label, Number(probabilities[i])]));
  let top = 0;
  probabilities.forEach((p, i) => { if (p > probabilities[top]) top = i; });
  return {
    label: labels[top],
    probabilities: byLabel,
    tumorProbability: noTumour in byLabel ? 1 - byLabel[noTumour] : null,
    ms,
  };
}

/**
 * The server's POST /api/predict answer -> the page's result shape; throws a sentence when the
 * answer is not the documented one.
 */
export function serverAnswer(json) {
  const probabilities = json?.probabilities;
  if (typeof json?.label !== "string" || !probabilities || typeof probabilities !== "object" ||
      !Object.values(probabilities).every(Number.isFinite)) {
    throw new Error("The server's answer is not the expected {label, probabilities, ...} JSON.");
  }
  return {
    label: json.label,
    probabilities,
    tumorProbability: json.tumor_probability ?? null,
    model: json.model ?? null,
    ms: json.ms ?? null,
  };
}
