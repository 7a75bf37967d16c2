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
    assert.equal(csvField("scan#1.png"), '"scan#1.png"'); // pandas.read_csv(comment="#") would cut it
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
  const metadata = { labels: ["glioma", "notumor"], no_tumor_label: "notumor",
    decision: { tumor_threshold: 0.5, possible_threshold: 0.2737 } };
  const done = {
    name: "dir/a, b.png", status: "done", frames: 1, frame: 0,
    result: { label: "glioma", probabilities: { glioma: 0.9, notumor: 0.1 }, tumorProbability: 0.9, level: "likely",
      likelyType: "glioma", typeProbability: 0.9, ms: 4.26, uncertain: false, warnings: [], flags: [] },
  };
  const failed = { name: "broken.jpg", status: "error", error: 'broken.jpg could not be read as an image ("x").', frames: 1 };
  const multiFrame = { ...done, name: "glioma/series", frames: 5, frame: 2, worst: { frame: 4, level: "likely", tumorProbability: 0.95 },
    result: { ...done.result, uncertain: true, warnings: ["The model is unsure."], flags: ["low-confidence"] } };
  const notMri = { name: "notumor/photo.png", status: "done", frames: 1, frame: 0,
    result: { label: "notumor", probabilities: { glioma: 0.2, notumor: 0.8 }, tumorProbability: 0.2, level: "not-mri",
      likelyType: null, typeProbability: null, ms: 3, uncertain: true, warnings: ["This is a colour image."], flags: ["colour"] } };

  it("writes a header with one probability column per label, then a line per file naming the model and cut-offs", () => {
    const lines = resultsCsv([done, failed, multiFrame, notMri], metadata, "v7").split("\r\n");
    assert.equal(lines[0], "file,status,level,label,tumor_probability,likely_type,p_glioma,p_notumor,uncertain,warnings,ms," +
      "frame,worst_frame,worst_level,worst_tumor_probability,error,folder_label,uncertain_about,model_version,tumor_threshold," +
      "possible_threshold,kind,slices,worst_slice");
    assert.equal(lines[1], '"dir/a, b.png",done,likely,glioma,0.900000,glioma,0.900000,0.100000,false,,4.3,,,,,,,,v7,0.5,0.2737,image,,');
    assert.equal(lines[2], 'broken.jpg,error,,,,,,,,,,,,,,"broken.jpg could not be read as an image (""x"")."' +
      ",,,v7,0.5,0.2737,image,,");
    assert.equal(lines[3], "glioma/series,done,likely,glioma,0.900000,glioma,0.900000,0.100000,true,The model is unsure.,4.3,3/5,5/5," +
      "likely,0.950000,,glioma,model,v7,0.5,0.2737,image,,");
    assert.equal(lines.length, 6);
    assert.equal(lines[5], "");
  });
  it("gives a not-MRI row no label: its top class is no verdict", () => {
    const line = resultsCsv([notMri], metadata, "v7").split("\r\n")[1];
    assert.equal(line, "notumor/photo.png,done,not-mri,,0.200000,,0.200000,0.800000,true,This is a colour image.,3.0,,,,,,notumor,," +
      "v7,0.5,0.2737,image,,");
  });
});
