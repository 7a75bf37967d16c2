import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";

import { checkMetadata, metadataProblems } from "../js/shared/contract.js";

// The files mri/contract.py is tested on too (tests/test_contract.py), with the expected verdicts.
const FIXTURES = new URL("../../tests/fixtures/metadata/", import.meta.url);
const VERDICTS = JSON.parse(readFileSync(new URL("verdicts.json", FIXTURES), "utf8"));
const read = (name) => JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8"));

describe("metadataProblems", () => {
  it("gives every shared fixture its expected verdict", () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".json") && f !== "verdicts.json").sort();
    assert.deepEqual(files, Object.keys(VERDICTS).sort());
    for (const file of files) assert.deepEqual(metadataProblems(read(file)), VERDICTS[file], file);
  });
  it("accepts the shipped model's metadata.json", () => {
    const shipped = JSON.parse(readFileSync(new URL("../model/metadata.json", import.meta.url), "utf8"));
    assert.deepEqual(metadataProblems(shipped), []);
  });
});

describe("checkMetadata", () => {
  it("returns good metadata as it is", () => {
    const metadata = read("good-two-classes.json");
    assert.equal(checkMetadata(metadata), metadata);
  });
  it("names every problem at once", () => {
    assert.throws(() => checkMetadata({ labels: ["a", "b"], no_tumor_label: "none", input: { height: 0, width: 4, channels: 2 } }),
      /no_tumor_label \(none\) must be one of labels; input must be/);
    assert.throws(() => checkMetadata(null), /labels must be a list/);
  });
});
