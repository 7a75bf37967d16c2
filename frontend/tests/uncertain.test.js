import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { uncertainties } from "../js/shared/results.js";

const metadata = { labels: ["glioma", "meningioma", "notumor", "pituitary"], no_tumor_label: "notumor",
  decision: { tumor_threshold: 0.5, possible_threshold: 0.3 } };
// A verdict as the worker gives it, from the four probabilities in label order.
function result(level, [g, m, n, p], { likelyType = null, flags = [], warnings = [] } = {}) {
  const probabilities = { glioma: g, meningioma: m, notumor: n, pituitary: p };
  const typeProbability = likelyType ? probabilities[likelyType] : null;
  return { level, probabilities, tumorProbability: 1 - n, likelyType, typeProbability, flags, warnings };
}

describe("uncertainties: what is uncertain", () => {
  it("is nothing for a clear answer of a clear type, or for no verdict", () => {
    assert.deepEqual(uncertainties(result("likely", [0.9, 0.05, 0.03, 0.02], { likelyType: "glioma" }), metadata), []);
    assert.deepEqual(uncertainties(result("none", [0.02, 0.02, 0.95, 0.01]), metadata), []);
    assert.deepEqual(uncertainties(result("not-mri", [0.25, 0.25, 0.25, 0.25], { flags: ["low-confidence"] }), metadata), []);
  });
  it("names the tumour-or-not answer in the middle band or near a cut-off", () => {
    const [band] = uncertainties(result("possible", [0.3, 0.05, 0.6, 0.05], { likelyType: "glioma" }), metadata);
    assert.equal(band.about, "tumour");
    assert.match(band.text, /^Tumour or not: the tumour probability, 40\.0\u202f%, lies in the middle band \(30\u202f% to 50\u202f%\)/);
    const [near] = uncertainties(result("likely", [0.5, 0.02, 0.45, 0.03], { likelyType: "glioma" }), metadata);
    assert.match(near.text, /55\.0\u202f%, is close to the 50\u202f% cut-off, so the answer "Tumour likely"/);
    const [below] = uncertainties(result("none", [0.15, 0.05, 0.75, 0.05]), metadata);
    assert.match(below.text, /is close to the 30\u202f% cut-off, so the answer "No tumour found"/);
  });
  it("names the type when the second tumour type comes close to the first", () => {
    const found = uncertainties(result("likely", [0.5, 0.4, 0.05, 0.05], { likelyType: "glioma" }), metadata);
    assert.deepEqual(found.map((u) => u.about), ["type"]);
    assert.equal(found[0].text, "The type: glioma (50.0\u202f%) is not far ahead of meningioma (40.0\u202f%).");
    const both = uncertainties(result("possible", [0.2, 0.15, 0.6, 0.05], { likelyType: "glioma" }), metadata);
    assert.deepEqual(both.map((u) => u.about), ["tumour", "type"]);
  });
  it("falls back on the worker's low-confidence warning when neither explains it", () => {
    const warned = result("likely", [0.55, 0.1, 0.3, 0.05], { likelyType: "glioma", flags: ["colour", "low-confidence"],
      warnings: ["colour", "The model is unsure: its top answer has only 55.0 % probability."] });
    assert.deepEqual(uncertainties(warned, metadata), [{ about: "model", text: "The model is unsure: its top answer has only 55.0 % probability." }]);
  });
});
