import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ANY_TUMOUR, confusionOf, folderLabel, outcomeOf, screeningSentences, tallyLine, tallyOf } from "../js/shared/batch.js";

const metadata = { labels: ["glioma", "meningioma", "notumor", "pituitary"], no_tumor_label: "notumor" };
const done = (name, level, likelyType = null) => ({ name, status: "done", result: { level, likelyType } });

describe("outcomeOf and tallyOf", () => {
  const rows = [done("a", "likely", "glioma"), done("b", "likely", "glioma"), done("c", "possible", "glioma"), done("d", "none"),
    done("e", "not-mri"), { name: "f", status: "error" }, { name: "g.pdf", status: "error", unsupported: true },
    { name: "h", status: "queued" }, { name: "i", status: "running" }];
  it("counts each row once, by level, failure, document or waiting", () => {
    assert.deepEqual(rows.map(outcomeOf), ["likely", "likely", "possible", "none", "not-mri", "failed", "unsupported", null, null]);
    assert.deepEqual(tallyOf(rows), { likely: 2, possible: 1, none: 1, "not-mri": 1, failed: 1, unsupported: 1, waiting: 2, total: 9 });
  });
  it("words the three verdicts always and the rest when there are any", () => {
    assert.equal(tallyLine(tallyOf(rows)), "Tumour likely: 2 · Possible tumour: 1 · No tumour found: 1 · " +
      "No verdict (not an MRI slice?): 1 · Could not be read: 1 · Not an image: 1 · waiting: 2");
    assert.equal(tallyLine(tallyOf([done("d", "none")])), "Tumour likely: 0 · Possible tumour: 0 · No tumour found: 1");
  });
});

describe("folderLabel", () => {
  it("reads the innermost folder named like a class", () => {
    assert.deepEqual(folderLabel("Testing/glioma/Te-gl_0001.jpg", metadata), { label: "glioma", tumour: true });
    assert.deepEqual(folderLabel("data/Glioma_Tumor/patient 1/x.dcm", metadata), { label: "glioma", tumour: true });
    assert.deepEqual(folderLabel("set/no_tumor/1.png", metadata), { label: "notumor", tumour: false });
    assert.deepEqual(folderLabel("brain/no/1.png", metadata), { label: "notumor", tumour: false });
    assert.deepEqual(folderLabel("brain/Normal/1.png", metadata), { label: "notumor", tumour: false });
    assert.deepEqual(folderLabel("brain/yes/Y1.jpg", metadata), { label: ANY_TUMOUR, tumour: true });
    assert.deepEqual(folderLabel("tumour/pituitary/1.jpg", metadata), { label: "pituitary", tumour: true });
  });
  it("reads no label from a file name or unknown folders", () => {
    for (const path of ["glioma.jpg", "scans/case 1/a.png", "notes/x.png", ""]) assert.equal(folderLabel(path, metadata), null, path);
  });
});

describe("confusionOf", () => {
  const rows = [
    done("set/glioma/1.jpg", "likely", "glioma"), done("set/glioma/2.jpg", "possible", "meningioma"),
    done("set/glioma/3.jpg", "none"), done("set/glioma/4.jpg", "not-mri"),
    done("set/notumor/1.jpg", "none"), done("set/notumor/2.jpg", "none"), done("set/notumor/3.jpg", "possible", "glioma"),
    { name: "set/notumor/4.jpg", status: "error" }, { name: "set/notes.pdf", status: "error", unsupported: true },
    done("set/other.jpg", "likely", "glioma"), { name: "set/glioma/5.jpg", status: "queued" },
  ];
  const confusion = confusionOf(rows, metadata);
  it("counts folder label x answer, finished rows only, documents and unlabelled files aside", () => {
    assert.deepEqual(confusion.rows.map((r) => [r.label, r.counts]), [
      ["glioma", { likely: 1, possible: 1, none: 1, "not-mri": 1, failed: 0 }],
      ["notumor", { likely: 0, possible: 1, none: 2, "not-mri": 0, failed: 1 }],
    ]);
    assert.equal(confusion.unlabelled, 1);
    assert.equal(confusion.excluded, 2);
    assert.deepEqual([confusion.rows[0].typeRight, confusion.rows[0].typeAnswers], [1, 2]);
  });
  it("gives sensitivity and specificity over the rows with a verdict, at both cut-offs", () => {
    const { possible, likely } = confusion.screening;
    assert.deepEqual(possible.sensitivity, { count: 2, of: 3, rate: 2 / 3 });
    assert.deepEqual(possible.specificity, { count: 2, of: 3, rate: 2 / 3 });
    assert.deepEqual(likely.sensitivity, { count: 1, of: 3, rate: 1 / 3 });
    assert.deepEqual(likely.specificity, { count: 3, of: 3, rate: 1 });
  });
  it("says so in sentences", () => {
    assert.deepEqual(screeningSentences(confusion), [
      'Counting "possible tumour" as tumour: sensitivity 2 of 3 (66.7\u202f%) tumour-folder images, specificity 2 of 3 ' +
        "(66.7\u202f%) no-tumour-folder images.",
      'Counting only "tumour likely": sensitivity 1 of 3 (33.3\u202f%) tumour-folder images, specificity 3 of 3 (100.0\u202f%) ' +
        "no-tumour-folder images.",
      "The likely type is the folder's in 1 of 2 tumour answers (50.0\u202f%).",
      "Not counted: 2 labelled files with no verdict or unreadable; 1 file outside label folders.",
    ]);
  });
  it("is null without label folders, and counts yes/no folders without types", () => {
    assert.equal(confusionOf([done("a/b.jpg", "none")], metadata), null);
    const yesNo = confusionOf([done("yes/1.jpg", "likely", "glioma"), done("no/1.jpg", "none")], metadata);
    assert.deepEqual(yesNo.rows.map((r) => [r.label, r.typeAnswers]), [["notumor", 0], [ANY_TUMOUR, 0]]);
    assert.equal(yesNo.screening.possible.sensitivity.rate, 1);
    assert.equal(screeningSentences(yesNo).length, 2);
  });
});
