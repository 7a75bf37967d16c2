// Peak memory of reading one scan, for frontend/tests/volume-memory.test.js:
//   node --expose-gc scan-memory.mjs FILE   -> stdout {baselineRss, peakRss, slices} (bytes)
// The file is opened as a Blob backed by the disk (fs.openAsBlob), so only what readScan itself
// holds shows in the peak.
import { openAsBlob } from "node:fs";
import { resourceUsage } from "node:process";

import { readScan } from "../../js/worker/scans.js";

const blob = await openAsBlob(process.argv[2]);
const file = new File([blob], process.argv[2].split("/").pop());
globalThis.gc?.();
const baselineRss = process.memoryUsage().rss;
const { volume } = await readScan(file);
const peakRss = resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ baselineRss, peakRss, slices: volume.slices.length }));
