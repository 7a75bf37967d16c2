import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { serverAnswer, shapeResult } from "../js/shared/contract.js";
import { percent } from "../js/shared/format.js";
import {
  DEFAULT_DECISION, RELIABILITY, compareAnswers, comparisonSentence, cutoffSentence, decisionOf, inputStatistics, meanChroma,
  reliabilityWarnings, resultLevel, tumourVerdict, verdictOf,
} from "../js/shared/results.js";
import { sortRows } from "../js/ui/sort.js";

const METADATA = { labels: ["glioma", "meningioma", "notumor", "pituitary"], no_tumor_label: "notumor" };
const MRI_LIKE = { chroma: 0, borderDark: 1, mean: 40, contrast: 30 };

describe("shapeResult", () => {
  it("maps probabilities to labels, picks the top one and derives the tumour probability", () => {
    const result = shapeResult(Float32Array.from([0.1, 0.6, 0.25, 0.05]), METADATA, 3.5);
    assert.equal(result.label, "meningioma");
    assert.deepEqual(Object.keys(result.probabilities), METADATA.labels);
    assert.ok(Math.abs(result.probabilities.meningioma - 0.6) < 1e-7);
    assert.ok(Math.abs(result.tumorProbability - 0.75) < 1e-7);
    assert.equal(result.ms, 3.5);
  });
  it("refuses a model whose outputs do not match metadata.labels", () => {
    assert.throws(() => shapeResult([0.5, 0.5], METADATA, 0), /gave 2 probabilities but metadata\.json lists 4 labels/);
  });
});

describe("result levels", () => {
  const WITH_DECISION = { ...METADATA, decision: { tumor_threshold: 0.5, possible_threshold: 0.2 } };
  const answer = (tumour, flags = []) => ({ ...shapeResult([tumour * 0.6, tumour * 0.4, 1 - tumour, 0], METADATA, 0), flags });

  it("reads the cut-offs from metadata.decision, and falls back to the defaults when absent or unusable", () => {
    assert.deepEqual(decisionOf(WITH_DECISION), { tumour: 0.5, possible: 0.2, recorded: true });
    assert.deepEqual(decisionOf(METADATA), { tumour: DEFAULT_DECISION.tumor_threshold, possible: DEFAULT_DECISION.possible_threshold, recorded: false });
    for (const decision of [{ tumor_threshold: 0.5, possible_threshold: 0.7 }, { tumor_threshold: "0.5", possible_threshold: 0.2 }, { tumor_threshold: 0.5 }]) {
      assert.equal(decisionOf({ ...METADATA, decision }).recorded, false, JSON.stringify(decision));
    }
  });
  it("is likely at or above the tumour cut-off, possible in the band, none below it", () => {
    assert.equal(resultLevel(answer(0.5), WITH_DECISION), "likely");
    assert.equal(resultLevel(answer(0.4999), WITH_DECISION), "possible");
    assert.equal(resultLevel(answer(0.21), WITH_DECISION), "possible");
    assert.equal(resultLevel(answer(0.19), WITH_DECISION), "none");
  });
  it("gives no verdict for an image that does not look like a brain MRI, whatever its probability", () => {
    for (const code of ["colour", "uniform", "no-background"]) assert.equal(resultLevel(answer(0.9, [code]), WITH_DECISION), "not-mri");
    assert.equal(resultLevel(answer(0.9, ["low-confidence"]), WITH_DECISION), "likely");
  });
  it("says each level in words, naming the likely type only where a tumour is likely or possible", () => {
    const likely = tumourVerdict(answer(0.8), WITH_DECISION);
    assert.deepEqual([likely.level, likely.headline, likely.likelyType], ["likely", "Tumour likely", "glioma"]);
    assert.ok(Math.abs(likely.typeProbability - 0.48) < 1e-7);
    const possible = tumourVerdict(answer(0.31), WITH_DECISION);
    assert.deepEqual([possible.headline, possible.likelyType], ["Possible tumour: look closely", "glioma"]);
    const none = tumourVerdict(answer(0.1), WITH_DECISION);
    assert.deepEqual([none.headline, none.likelyType, none.typeProbability], ["No tumour found", null, null]);
    const notMri = tumourVerdict(answer(0.9, ["colour"]), WITH_DECISION);
    assert.deepEqual([notMri.level, notMri.tumour, notMri.likelyType], ["not-mri", false, null]);
    assert.match(notMri.headline, /may not be a brain MRI/);
  });
  it("states the cut-offs in a sentence, saying when they are defaults", () => {
    assert.equal(cutoffSentence(WITH_DECISION), '"Tumour likely" from a tumour probability of 50\u202f%; ' +
      '"possible tumour" from 20\u202f%; below that, "no tumour found".');
    assert.match(cutoffSentence(METADATA), /default cut-offs/);
  });
});

describe("percent", () => {
  it("never rounds a probability short of certainty to 100 % or above zero to 0 %", () => {
    assert.equal(percent(0.99997), ">\u00a099.9\u202f%");
    assert.equal(percent(0.99997, 2), "100.00\u202f%".replace("100.00", ">\u00a099.99"));
    assert.equal(percent(1), "100.0\u202f%");
    assert.equal(percent(0.00002), "<\u00a00.1\u202f%");
    assert.equal(percent(0), "0.0\u202f%");
    assert.equal(percent(0.1234), "12.3\u202f%");
    assert.equal(percent(0.9994), "99.9\u202f%");
  });
});

describe("inputStatistics", () => {
  it("measures the dark border, mean and contrast of the model input", () => {
    // 16 x 16: black except a bright 8 x 8 centre -> border fully dark
    const input = new Float32Array(256);
    for (let y = 4; y < 12; y += 1) for (let x = 4; x < 12; x += 1) input[y * 16 + x] = 200;
    const stats = inputStatistics(input, { height: 16, width: 16, channels: 1 });
    assert.equal(stats.borderDark, 1);
    assert.equal(stats.mean, 50);
    assert.ok(Math.abs(stats.contrast - Math.sqrt(200 * 200 / 4 - 2500)) < 1e-9);
    const white = inputStatistics(new Float32Array(256).fill(255), { height: 16, width: 16, channels: 1 });
    assert.deepEqual(white, { borderDark: 0, mean: 255, contrast: 0 });
  });
});

describe("reliabilityWarnings", () => {
  const confident = shapeResult([0.9, 0.05, 0.03, 0.02], METADATA, 0);
  it("is silent for a confident answer on an MRI-like input", () => {
    assert.deepEqual(reliabilityWarnings(confident, MRI_LIKE), []);
  });
  it("flags a spread-out answer", () => {
    const unsure = shapeResult([0.4, 0.3, 0.2, 0.1], METADATA, 0);
    const [warning] = reliabilityWarnings(unsure, MRI_LIKE);
    assert.equal(warning.code, "low-confidence");
    assert.match(warning.message, /unsure: its top answer has only 40\.0/);
  });
  it("flags colour, uniform and background-less images", () => {
    const codes = (stats) => reliabilityWarnings(confident, { ...MRI_LIKE, ...stats }).map((w) => w.code);
    assert.deepEqual(codes({ chroma: RELIABILITY.maxChroma + 1 }), ["colour"]);
    assert.deepEqual(codes({ contrast: 1 }), ["uniform"]);
    assert.deepEqual(codes({ borderDark: 0.1 }), ["no-background"]);
    assert.deepEqual(codes({ mean: 200 }), ["no-background"]);
    assert.match(reliabilityWarnings(confident, { ...MRI_LIKE, chroma: 50 })[0].message, /colour image/);
  });
});

describe("serverAnswer and compareAnswers", () => {
  const local = shapeResult([0.7, 0.1, 0.15, 0.05], METADATA, 2);
  it("converts the API's JSON and finds the largest difference", () => {
    const server = serverAnswer({ label: "glioma", probabilities: { glioma: 0.68, meningioma: 0.1, notumor: 0.17, pituitary: 0.05 }, tumor_probability: 0.83, model: "compact", ms: 9 });
    assert.equal(server.tumorProbability, 0.83);
    const { sameLabel, largest } = compareAnswers(local, server);
    assert.equal(sameLabel, true);
    assert.equal(largest.label, "notumor");
    assert.ok(Math.abs(largest.difference - 0.02) < 1e-6);
  });
  it("reports different answers", () => {
    const server = serverAnswer({ label: "notumor", probabilities: { glioma: 0.2, meningioma: 0.1, notumor: 0.65, pituitary: 0.05 } });
    assert.equal(compareAnswers(local, server).sameLabel, false);
  });
  it("refuses JSON that is not the documented answer", () => {
    assert.throws(() => serverAnswer({ error: "x" }), /not the expected/);
    assert.throws(() => serverAnswer({ label: "a", probabilities: { a: "high" } }), /not the expected/);
  });
});

describe("sortRows", () => {
  const row = (name, p, status = "done") => {
    if (p === null) return { name, status, result: null };
    const result = shapeResult([p, 0, 1 - p, 0], METADATA, p * 10);
    return { name, status, result: { ...result, level: resultLevel(result, METADATA) } };
  };
  const rows = [row("img10.png", 0.2), row("img2.png", 0.9), row("bad.png", null, "error"), row("img1.png", 0.5)];
  it("sorts names naturally (img2 before img10)", () => {
    assert.deepEqual(sortRows(rows, "name").map((r) => r.name), ["bad.png", "img1.png", "img2.png", "img10.png"]);
    assert.deepEqual(sortRows(rows, "name", -1).map((r) => r.name), ["img10.png", "img2.png", "img1.png", "bad.png"]);
  });
  it("sorts by level then tumour probability, or by tumour probability, either way, failed rows last", () => {
    for (const key of ["verdict", "tumour"]) {
      assert.deepEqual(sortRows(rows, key).map((r) => r.name), ["img10.png", "img1.png", "img2.png", "bad.png"]);
      assert.deepEqual(sortRows(rows, key, -1).map((r) => r.name), ["img2.png", "img1.png", "img10.png", "bad.png"]);
    }
    const colour = { name: "photo.png", status: "done", result: { ...rows[1].result, level: "not-mri" } };
    assert.equal(sortRows([...rows, colour], "verdict")[0].name, "photo.png");
  });
  it("does not reorder its input and rejects unknown keys", () => {
    sortRows(rows, "ms");
    assert.equal(rows[0].name, "img10.png");
    assert.throws(() => sortRows(rows, "colour"), /Unknown sort key colour/);
  });
});

describe("the server check compares verdicts, not only the top class", () => {
  const metadata = { labels: ["glioma", "meningioma", "notumor", "pituitary"], no_tumor_label: "notumor",
    decision: { tumor_threshold: 0.5, possible_threshold: 0.45 } };
  const answer = (pNo) => ({ glioma: (1 - pNo) * 0.6, meningioma: (1 - pNo) * 0.3, notumor: pNo, pituitary: (1 - pNo) * 0.1 });
  const local = { label: "notumor", probabilities: answer(0.53), tumorProbability: 0.47, level: "possible",
    likelyType: "glioma", flags: [] }; // as the worker answers: its verdict included

  it("says the answers differ when the levels do, though both top classes are notumor", () => {
    const server = { label: "notumor", probabilities: answer(0.56), tumor_probability: 0.44 };
    const compared = compareAnswers(local, server, metadata);
    assert.equal(compared.sameLabel, true);
    assert.deepEqual([compared.levels, compared.sameAnswer], [{ local: "possible", server: "none" }, false]);
    const sentence = comparisonSentence(local, server, compared);
    assert.match(sentence, /^Different answers: this browser says "Possible tumour: look closely" \(glioma\), tumour probability 47\.0.%; the server's probabilities say "No tumour found", tumour probability 44\.0.%\.$/);
    assert.doesNotMatch(sentence, /Same answer/);
  });

  it("says the same answer only for the same level and likely type", () => {
    const server = { label: "notumor", probabilities: answer(0.531), tumor_probability: 0.469 };
    const compared = compareAnswers(local, server, metadata);
    assert.equal(compared.sameAnswer, true);
    assert.match(comparisonSentence(local, server, compared), /^Same answer: both say "Possible tumour: look closely" \(glioma\); tumour probability 47\.0.% here, 46\.9.% on the server\.$/);
  });

  it("gives no verdict for either when the page withheld it by the DICOM header", () => {
    const withheld = { ...local, level: "not-mri", scope: { withheld: true } };
    const server = { label: "notumor", probabilities: answer(0.56), tumor_probability: 0.44 };
    assert.match(comparisonSentence(withheld, server, compareAnswers(withheld, server, metadata)), /^No verdict in this browser: the DICOM header/);
  });
});

describe("verdictOf: the worker's verdict, computed once per result", () => {
  const metadata = { ...METADATA, input: { height: 16, width: 16, channels: 1 }, decision: { tumor_threshold: 0.5, possible_threshold: 0.3 } };
  // A bright square on black: what the reliability rule reads as a brain slice.
  const input = new Float32Array(256).map((_, i) => ((i >> 4) >= 4 && (i >> 4) < 12 && i % 16 >= 4 && i % 16 < 12 ? 200 : 0));
  const image = { width: 16, height: 16, channels: 1, data: Uint8Array.from(input) };
  const result = { label: "glioma", probabilities: { glioma: 0.7, meningioma: 0.1, notumor: 0.15, pituitary: 0.05 }, tumorProbability: 0.85 };

  it("gives the level, the likely type and its probability", () => {
    const verdict = verdictOf(result, { input, image }, metadata);
    assert.deepEqual([verdict.level, verdict.likelyType, verdict.typeProbability, verdict.flags], ["likely", "glioma", 0.7, []]);
  });
  it("withholds the verdict when the DICOM header puts the image out of scope", () => {
    const verdict = verdictOf(result, { input, image, scope: { withheld: true, reasons: ["It is a sagittal slice."] } }, metadata);
    assert.deepEqual([verdict.level, verdict.likelyType, verdict.reasons], ["not-mri", null, ["It is a sagittal slice."]]);
  });
});

describe("meanChroma", () => {
  it("is 0 for gray pixels and large for saturated colour", () => {
    assert.equal(meanChroma({ width: 2, height: 1, channels: 4, data: [9, 9, 9, 255, 200, 200, 200, 255] }), 0);
    assert.equal(meanChroma({ width: 2, height: 1, channels: 4, data: [255, 0, 0, 255, 0, 0, 255, 255] }), 255);
    assert.equal(meanChroma({ width: 1, height: 1, channels: 1, data: [40] }), 0);
  });
});
