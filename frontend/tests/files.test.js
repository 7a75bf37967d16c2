import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { contentKey, isJunk, skippedLine, withoutJunk } from "../js/ui/files.js";

describe("isJunk", () => {
  it("skips notes, system thumbnails and settings, and hidden files or folders", () => {
    for (const path of ["README.txt", "scans/notes.TXT", "Thumbs.db", "scans/desktop.ini", ".DS_Store", "scans/.hidden.png",
      ".git/objects/ab", "__MACOSX/scan.jpg", "report.pdf"]) {
      assert.equal(isJunk(path), true, path);
    }
  });
  it("keeps images, DICOM files with or without an extension, and odd but plausible names", () => {
    for (const path of ["scan.jpg", "a/b/IM-0001-0001.dcm", "series/IM000123", "MRI.PNG", "1.2.840.113619.2.55.dcm", "dbscan.png"]) {
      assert.equal(isJunk(path), false, path);
    }
  });
});

describe("withoutJunk and skippedLine", () => {
  it("keeps the images and counts the rest in one line", () => {
    const files = [{ name: "a.png" }, { name: "README.txt" }, { name: "x", webkitRelativePath: "dir/thumbs.db" }, { name: "b.dcm" }];
    const { kept, skipped } = withoutJunk(files);
    assert.deepEqual(kept.map((f) => f.name), ["a.png", "b.dcm"]);
    assert.deepEqual(skipped, ["README.txt", "dir/thumbs.db"]);
    assert.equal(skippedLine(skipped), "Skipped 2 files that are not images (notes, system or hidden files): README.txt, thumbs.db.");
    assert.equal(skippedLine(["a.txt"]), "Skipped 1 file that is not an image (notes, system or hidden files): a.txt.");
    assert.match(skippedLine(Array.from({ length: 8 }, (_, i) => `${i}.txt`)), /0\.txt, 1\.txt, 2\.txt, 3\.txt, 4\.txt and 3 more\.$/);
    assert.equal(skippedLine([]), "");
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
