import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { DISCLAIMER, flattenFacts, modelCard, modelVersion } from "../js/modelcard.js";

// The shape training/train.py and training/compare.py write.
const METADATA = {
  labels: ["glioma", "meningioma", "notumor", "pituitary"],
  no_tumor_label: "notumor",
  input: { height: 128, width: 128, channels: 1 },
  architecture: "compact",
  metrics: {
    test: {
      n: 1391, accuracy: 0.8612, macro_f1: 0.842, tumor_sensitivity: 0.8905, tumor_specificity: 0.9786, ece: 0.0327,
      per_class: { glioma: { precision: 0.848, recall: 0.789, f1: 0.81, support: 403 } },
      confusion_matrix: [[318, 13, 68, 4], [37, 133, 9, 22], [10, 0, 549, 1], [10, 1, 18, 198]],
    },
    external: [{ data: "/work/shared/data/brain-mri-yes-no", tumor_sensitivity: 0.53, tumor_images: 141 }],
    cpu_ms_per_image: 3.2,
    report: "reports/comparison.md",
  },
  training: {
    data: ["/work/shared/data/brain-mri-4class", "/work/shared/data/brain-mri-lgg-flair"],
    class_counts: { glioma: 2792, notumor: 3517 },
    split: { train: { glioma: 10, notumor: 5 }, test: { glioma: 2, notumor: 1 } },
    epochs_run: 14,
    settings: { batch_size: 32 },
  },
};

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
    assert.ok(sections[0].rows.some(([k, v]) => k === "classes" && v.includes("notumor (no tumour)")));
    assert.ok(sections[3].notes.length >= 4);
  });
  it("names the held-out figures for a reader and tabulates classes and confusions", () => {
    const { rows, tables, notes } = modelCard(METADATA, "v1")[2];
    const byName = Object.fromEntries(rows);
    assert.equal(byName["test › images"], "1,391");
    assert.equal(byName["test › accuracy (all classes)"], "86.1 %");
    assert.equal(byName["test › tumours found (sensitivity)"], "89.0 %");
    assert.equal(byName["test › calibration error (ECE, lower is better)"], "0.0327");
    assert.equal(byName["unseen collection brain-mri-yes-no › tumours found (sensitivity)"], "53.0 %");
    assert.equal(byName["Keras CPU ms per image"], "3.2");
    assert.ok(!rows.some(([name]) => name.includes("report")));
    assert.deepEqual(tables[0].rows[0], ["glioma", "84.8 %", "78.9 %", "403"]);
    assert.deepEqual(tables[1].columns, ["true \\ answer", "glioma", "meningioma", "notumor", "pituitary"]);
    assert.deepEqual(tables[1].rows[2], ["notumor", "10", "0", "549", "1"]);
    assert.match(notes[0], /On brain-mri-yes-no, a collection it never saw in training, it found 53\.0 % of tumours/);
  });
  it("shows training data by folder name, not the trainer's paths", () => {
    const rows = Object.fromEntries(modelCard(METADATA, "v1")[1].rows);
    assert.equal(rows["data sets"], "brain-mri-4class, brain-mri-lgg-flair");
    assert.equal(rows["images per class"], "glioma 2,792, notumor 3,517");
    assert.equal(rows.split, "train 15, test 3");
    assert.equal(rows.epochs, "14");
    assert.ok(!JSON.stringify(rows).includes("/work/"));
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
