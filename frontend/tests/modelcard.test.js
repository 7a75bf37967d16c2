import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { DISCLAIMER, checkMetadata, flattenFacts, modelCard, modelVersion } from "../js/modelcard.js";

const METADATA = {
  labels: ["glioma", "meningioma", "notumor", "pituitary"],
  no_tumor_label: "notumor",
  input: { height: 128, width: 128, channels: 1 },
  architecture: "compact",
  metrics: { test: { accuracy: 0.9132, images: 812 }, loss: 0.31 },
  training: { data: ["brain-mri-4class", "brain-mri-lgg-flair"], epochs: 30 },
};

describe("checkMetadata", () => {
  it("accepts the DESIGN.md contract", () => {
    assert.equal(checkMetadata(METADATA), METADATA);
  });
  it("names every problem at once", () => {
    assert.throws(() => checkMetadata({ labels: ["a", "b"], no_tumor_label: "none", input: { height: 0, width: 4, channels: 2 } }),
      /no_tumor_label \(none\) must be one of labels; input must be/);
    assert.throws(() => checkMetadata(null), /labels must be a list/);
  });
});

describe("modelVersion", () => {
  it("prefers a recorded version, else hashes metadata.json's text", () => {
    assert.equal(modelVersion({ version: "2024-05-01" }, "{}"), "2024-05-01");
    const a = modelVersion({}, '{"metrics": 1}');
    assert.equal(a, modelVersion({}, '{"metrics": 1}'));
    assert.notEqual(a, modelVersion({}, '{"metrics": 2}'));
  });
});

describe("modelCard", () => {
  it("shows the model, its training data, held-out figures and limits", () => {
    const sections = modelCard(METADATA, "v1");
    assert.deepEqual(sections.map((s) => s.title), ["Model", "Training data", "Held-out results", "Limits"]);
    assert.deepEqual(sections[2].rows, [["test › accuracy", "91.3 %"], ["test › images", "812"], ["loss", "0.31"]]);
    assert.deepEqual(sections[1].rows[0], ["data", "brain-mri-4class, brain-mri-lgg-flair"]);
    assert.ok(sections[0].rows.some(([k, v]) => k === "classes" && v.includes("notumor (no tumour)")));
    assert.ok(sections[3].notes.length >= 4);
  });
  it("says plainly when a model has no held-out figures", () => {
    const [, , metrics] = modelCard({ ...METADATA, metrics: {} }, "v");
    assert.match(metrics.notes[0], /No held-out figures/);
  });
  it("carries the not-a-medical-device statement", () => {
    assert.match(DISCLAIMER, /not a medical device/);
  });
  it("flattens nested facts", () => {
    assert.deepEqual(flattenFacts({ a_b: { c: [1, 2] } }), [["a b › c", "1, 2"]]);
  });
});
