import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { modelVersion } from "../js/shared/hash.js";
import { DISCLAIMER, flattenFacts, modelCard } from "../js/shared/modelcard.js";

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
  const WITH_DECISION = { ...METADATA, decision: { tumor_threshold: 0.5, possible_threshold: 0.2886, possible_rule: "lowest threshold that clears 95% of the validation subset's normal scans" } };
  const card = modelCard(WITH_DECISION, "v1");
  const rowsOf = (title) => Object.fromEntries(card.find((s) => s.title === title).rows);

  it("starts with the warning about other scanners, with the unseen collection's figure, then the disclaimer", () => {
    assert.deepEqual(card.map((s) => s.title), ["Before you use it", "How to read a result", "What it was trained on", "How well it did", "The model", "Limits"]);
    assert.match(card[0].notes[0], /^Expect fewer tumours found on your own scans: .*found only 53\.0 % of the tumours in brain-mri-yes-no/);
    assert.equal(card[0].notes[1], DISCLAIMER);
    assert.match(modelCard({ ...METADATA, metrics: {} }, "v")[0].notes[0], /not tested on a collection it never saw/);
  });
  it("states the cut-offs and the uncertain rule, and where the middle cut-off comes from", () => {
    const rows = rowsOf("How to read a result");
    assert.match(rows["Tumour likely"], /50\u202f% or more/);
    assert.match(rows["Possible tumour: look closely"], /from 29\u202f% to below 50\u202f%/);
    assert.match(rows["No tumour found"], /below 29\u202f%/);
    assert.match(rows["No result"], /does not look like a brain MRI slice/);
    assert.match(rows["No result"], /diffusion \(DWI, ADC, DTI\), EPI .* a plane more than 35 degrees from axial/);
    assert.match(rows.uncertain, /less than 60\u202f%/);
    assert.match(card[1].notes[0], /chosen on the validation images \(lowest threshold that clears 95%/);
    assert.match(modelCard(METADATA, "v")[1].notes[0], /records no cut-offs/);
  });
  it("names the sequences, planes and data sets with source and citation, not the trainer's paths", () => {
    const section = card.find((s) => s.title === "What it was trained on");
    const rows = Object.fromEntries(section.rows);
    assert.equal(rows["MRI sequences"], "T1 with contrast, T2, FLAIR");
    assert.equal(rows["slice planes"], "axial (the 4-class set also holds a few coronal and sagittal slices)");
    assert.equal(rows["images per class"], "glioma 2,792, notumor 3,517");
    assert.match(rows.split, /^train 15, test 3; /);
    assert.match(section.notes[0], /^brain-mri-4class: Brain Tumor MRI Dataset \(Nickparvar.*Cite: Nickparvar 2021; Cheng et al\., PLoS ONE 2015/);
    assert.match(section.notes[1], /^brain-mri-lgg-flair: .*Cite: Buda et al\./);
    assert.deepEqual(section.technical.rows, [["epochs", "14"]]);
    assert.ok(!JSON.stringify(section).includes("/work/"));
    const unknown = modelCard({ ...METADATA, training: { data: ["/x/my-scans"] } }, "v").find((s) => s.title === "What it was trained on");
    assert.deepEqual(unknown.notes, ["my-scans: no source recorded."]);
  });
  it("gives the held-out figures in plain words, the technical ones behind a disclosure", () => {
    const section = card.find((s) => s.title === "How well it did");
    const rows = Object.fromEntries(section.rows);
    assert.equal(rows["tumours found among the test scans"], "89.0 %");
    assert.equal(rows["normal test scans called normal"], "97.9 %");
    assert.equal(rows["right class of the four, test scans"], "86.1 % of 1,391");
    assert.equal(rows["tumours found in brain-mri-yes-no, never seen in training"], "53.0 % of 141");
    for (const [name] of section.rows) assert.doesNotMatch(name, /F1|ECE|ROC|›|ms/);
    const technical = Object.fromEntries(section.technical.rows);
    assert.equal(technical["test › calibration error (ECE, lower is better)"], "0.0327");
    assert.equal(technical["Keras CPU ms per image"], "3.2");
    assert.ok(!section.technical.rows.some(([name]) => name.includes("report")));
    assert.deepEqual(section.technical.tables[0].rows[0], ["glioma", "84.8 %", "78.9 %", "403"]);
    assert.deepEqual(section.technical.tables[1].rows[2], ["notumor", "10", "0", "549", "1"]);
  });
  it("says plainly when a model has no held-out figures", () => {
    const metrics = modelCard({ ...METADATA, metrics: {} }, "v").find((s) => s.title === "How well it did");
    assert.match(metrics.notes[0], /No held-out figures/);
  });
  it("says what the model reads and answers", () => {
    const rows = rowsOf("The model");
    assert.match(rows.reads, /one 2-D slice, as a 128 × 128 grayscale image/);
    assert.match(rows.answers, /notumor \(no tumour\)/);
    assert.ok(card.at(-1).notes.length >= 4);
  });
  it("carries the not-a-medical-device statement", () => {
    assert.match(DISCLAIMER, /not a medical device/);
  });
  it("flattens nested facts", () => {
    assert.deepEqual(flattenFacts({ a_b: { c: [1, 2] } }), [["a b › c", "1, 2"]]);
  });
});
