import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { isJunk, skippedLine, sortDrop, unsupportedMessage, withoutJunk } from "../js/shared/files.js";
import { contentKey } from "../js/shared/hash.js";

describe("isJunk", () => {
  it("skips system thumbnails and settings, and hidden files or folders", () => {
    for (const path of ["Thumbs.db", "scans/desktop.ini", ".DS_Store", "scans/.hidden.png", ".git/objects/ab", "__MACOSX/scan.jpg",
      "scans/.notes.txt"]) {
      assert.equal(isJunk(path), true, path);
    }
  });
  it("keeps images, DICOM files with or without an extension, and odd but plausible names", () => {
    for (const path of ["scan.jpg", "a/b/IM-0001-0001.dcm", "series/IM000123", "MRI.PNG", "1.2.840.113619.2.55.dcm", "dbscan.png"]) {
      assert.equal(isJunk(path), false, path);
    }
  });
});

describe("unsupportedMessage", () => {
  it("names a document, says what the page reads and what to do", () => {
    assert.equal(unsupportedMessage("cases/report.PDF"), "report.PDF is a PDF document, not an image: the page reads brain MRI " +
      "slices as JPEG, PNG or DICOM files, and whole scans as NIfTI or DICOM series. If it holds slices, save them as PNG or " +
      "JPEG images and add those.");
    assert.match(unsupportedMessage("notes.docx"), /^notes\.docx is a text document, not an image/);
    assert.match(unsupportedMessage("README.txt"), /^README\.txt is a text file, not an image: .* It holds no image to classify\.$/);
    assert.match(unsupportedMessage("labels.csv"), /is a data file/);
    assert.match(unsupportedMessage("scans.zip"), /Unpack it, then add the folder\.$/);
  });
  it("leaves images, DICOM files and scans alone", () => {
    for (const path of ["scan.jpg", "IM000123", "a.dcm", "brain.nii.gz", "pdf/scan.png", "txt"]) {
      assert.equal(unsupportedMessage(path), null, path);
    }
  });
});

describe("withoutJunk and skippedLine", () => {
  it("keeps the images, gives documents their own rows and counts the rest in one line", () => {
    const files = [{ name: "a.png" }, { name: "README.txt" }, { name: "x", webkitRelativePath: "dir/thumbs.db" }, { name: "b.dcm" },
      { name: "desktop.ini" }];
    const { kept, skipped, unsupported } = withoutJunk(files);
    assert.deepEqual(kept.map((f) => f.name), ["a.png", "b.dcm"]);
    assert.deepEqual(unsupported.map((f) => f.name), ["README.txt"]);
    assert.deepEqual(skipped, ["dir/thumbs.db", "desktop.ini"]);
    assert.equal(skippedLine(skipped), "Skipped 2 files that are not images (system or hidden files): thumbs.db, desktop.ini.");
    assert.equal(skippedLine(["a.ini"]), "Skipped 1 file that is not an image (system or hidden files): a.ini.");
    assert.match(skippedLine(Array.from({ length: 8 }, (_, i) => `${i}.txt`)), /0\.txt, 1\.txt, 2\.txt, 3\.txt, 4\.txt and 3 more\.$/);
    assert.equal(skippedLine([]), "");
  });
});

describe("sortDrop", () => {
  it("sets apart, by their first bytes, the files that may be scans: DICOM, NIfTI and gzip", async () => {
    const bytes = (length, at = {}) => Uint8Array.from({ length }, (_, i) => at[i] ?? 0);
    const ascii = (offset, text) => Object.fromEntries([...text].map((c, i) => [offset + i, c.charCodeAt(0)]));
    const files = [
      new File([bytes(600, { 0: 0x89, ...ascii(1, "PNG") })], "slice.png"),
      new File([bytes(300, ascii(128, "DICM"))], "IM0001"),
      new File([bytes(352, ascii(344, "n+1"))], "brain.nii"),
      new File([bytes(40, { 0: 0x1f, 1: 0x8b })], "brain.nii.gz"),
      new File([bytes(3)], "tiny.jpg"),
      new File(["notes"], "README.txt"),
      new File([bytes(10)], "Thumbs.db"),
    ];
    const { kept, scans, skipped, unsupported } = await sortDrop(files);
    assert.deepEqual(kept.map((f) => f.name), ["slice.png", "IM0001", "brain.nii", "brain.nii.gz", "tiny.jpg"]);
    assert.deepEqual(scans.map((f) => f.name), ["IM0001", "brain.nii", "brain.nii.gz"]);
    assert.deepEqual([skipped, unsupported.map((f) => f.name)], [["Thumbs.db"], ["README.txt"]]);
  });
});

describe("contentKey", () => {
  it("is the same for the same bytes and differs for one changed byte or length", () => {
    const a = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
    const b = a.slice();
    assert.equal(contentKey(a), contentKey(b));
    b[500] ^= 1;
    assert.notEqual(contentKey(a), contentKey(b));
    assert.notEqual(contentKey(a), contentKey(a.subarray(0, 999)));
  });
});
