import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import dicomParser from "../vendor/dicom-parser.js";
import { headerOf, judge, judgeSeries, planeOf } from "../js/shared/scope.js";

// The fixtures mri/scope.py is held to as well (tests/test_scope.py).
const { cases } = JSON.parse(readFileSync(new URL("../../tests/fixtures/scope/cases.json", import.meta.url), "utf8"));

describe("scope rules on the shared fixtures", () => {
  for (const { name, header, expected } of cases) {
    it(name, () => {
      const got = judge(header);
      assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, got[k]])), expected);
      assert.equal(got.withheld, expected.codes.length > 0);
      assert.equal(got.reasons.length, got.codes.length);
    });
  }
  it("covers every rule", () => {
    const codes = new Set(cases.flatMap((c) => c.expected.codes));
    assert.deepEqual([...codes].sort(), ["angiography", "diffusion", "epi", "localizer", "modality", "plane", "secondary-capture"]);
  });
});

describe("planes and series", () => {
  it("measures the tilt from axial", () => {
    assert.deepEqual(planeOf([1, 0, 0, 0, 1, 0]), { plane: "axial", tilt: 0 });
    assert.deepEqual(planeOf([1, 0, 0, 0, 0, -1]), { plane: "coronal", tilt: 90 });
    assert.deepEqual(planeOf(null), { plane: null, tilt: null });
  });
  it("withholds a whole series when any file is out of scope, each reason once", () => {
    const dwi = { Modality: "MR", SeriesDescription: "DWI" };
    const judged = judgeSeries([{ Modality: "MR", SeriesDescription: "T2" }, dwi, dwi]);
    assert.deepEqual([judged.withheld, judged.codes, judged.sequence], [true, ["diffusion"], "T2"]);
  });
  it("reads the fields from a real file's header", () => {
    const bytes = readFileSync(new URL("../../tests/fixtures/codecs/uncompressed.dcm", import.meta.url));
    const header = headerOf(dicomParser.parseDicom(new Uint8Array(bytes)));
    assert.equal(header.Modality, "MR");
    assert.equal(header.SOPClassUID, "1.2.840.10008.5.1.4.1.1.4");
    assert.equal(judge(header).withheld, false);
  });
});
