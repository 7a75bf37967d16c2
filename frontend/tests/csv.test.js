import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { csvField, resultsCsv, toCsv } from "../js/shared/csv.js";

describe("csvField", () => {
  it("leaves plain values alone", () => {
    assert.equal(csvField("scan_01.png"), "scan_01.png");
    assert.equal(csvField(0.25), "0.25");
    assert.equal(csvField(null), "");
    assert.equal(csvField(undefined), "");
  });
  it("quotes commas, quotes, line breaks and edge spaces, doubling quotes", () => {
    assert.equal(csvField("a,b.png"), '"a,b.png"');
    assert.equal(csvField('say "hi".png'), '"say ""hi"".png"');
    assert.equal(csvField("two\nlines"), '"two\nlines"');
    assert.equal(csvField("cr\rhere"), '"cr\rhere"');
    assert.equal(csvField(" padded "), '" padded "');
  });
  it("defuses text a spreadsheet would run as a formula", () => {
    assert.equal(csvField("=HYPERLINK(\"x\")"), '"\'=HYPERLINK(""x"")"');
    assert.equal(csvField("+1.png"), "'+1.png");
    assert.equal(csvField("-x"), "'-x");
    assert.equal(csvField("@sum"), "'@sum");
    assert.equal(csvField(-0.5), "-0.5"); // numbers are data, not formulas
  });
});

describe("toCsv", () => {
  it("joins rows with CRLF and ends with one", () => {
    assert.equal(toCsv([["a", "b"], [1, "x,y"]]), 'a,b\r\n1,"x,y"\r\n');
  });
});

describe("resultsCsv", () => {
  const labels = ["glioma", "notumor"];
  const done = {
    name: "dir/a, b.png", status: "done", frames: 1, frame: 0,
    result: { label: "glioma", probabilities: { glioma: 0.9, notumor: 0.1 }, tumorProbability: 0.9, level: "likely",
      likelyType: "glioma", ms: 4.26, uncertain: false, warnings: [] },
  };
  const failed = { name: "broken.jpg", status: "error", error: 'broken.jpg could not be read as an image ("x").', frames: 1 };
  const multiFrame = { ...done, name: "series", frames: 5, frame: 2, worst: { frame: 4, level: "likely", tumorProbability: 0.95 },
    result: { ...done.result, uncertain: true, warnings: ["The model is unsure."] } };

  it("writes a header with one probability column per label, then a line per file", () => {
    const lines = resultsCsv([done, failed, multiFrame], labels).split("\r\n");
    assert.equal(lines[0], "file,status,level,label,tumor_probability,likely_type,p_glioma,p_notumor,uncertain,warnings,ms," +
      "frame,worst_frame,worst_level,worst_tumor_probability,error,kind,slices,worst_slice");
    assert.equal(lines[1], '"dir/a, b.png",done,likely,glioma,0.900000,glioma,0.900000,0.100000,false,,4.3,,,,,,image,,');
    assert.equal(lines[2], 'broken.jpg,error,,,,,,,,,,,,,,"broken.jpg could not be read as an image (""x"").",image,,');
    assert.equal(lines[3], "series,done,likely,glioma,0.900000,glioma,0.900000,0.100000,true,The model is unsure.,4.3,3/5,5/5,likely,0.950000,,image,,");
    assert.equal(lines[4], "");
    assert.equal(lines.length, 5);
  });
});
