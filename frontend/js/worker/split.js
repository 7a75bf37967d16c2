// A drop's files -> the scans among them and the images, read in the worker where the files are
// then classified, so the page parses no DICOM file itself. A DICOM file's header is read here
// only up to its SeriesInstanceUID (series.js seriesUid); its pixels are parsed once, when classified.
import { DICOM_HEADER_BYTES, isDicom } from "../shared/files.js";
import { looksLikeNifti } from "./nifti.js";
import { groupSeries, seriesUid } from "./series.js";

/**
 * Files -> {scans: [{kind: "nifti" | "series", files: [index, ...]}], images: [index, ...]}, by
 * position in `files`: each NIfTI file is a scan, and so are the DICOM files of one series (two
 * or more sharing a SeriesInstanceUID); the rest are images.
 */
export async function splitScans(files) {
  const scans = [];
  const images = [];
  const dicoms = [];
  for (const [index, file] of files.entries()) {
    const head = new Uint8Array(await file.slice(0, DICOM_HEADER_BYTES).arrayBuffer());
    if (isDicom(head)) {
      let uid = "";
      try {
        uid = seriesUid(new Uint8Array(await file.arrayBuffer()), file.name);
      } catch {
        // An unreadable DICOM file goes the image way, which says why it cannot be read.
      }
      if (uid) {
        dicoms.push({ uid, index });
        continue;
      }
    } else if (await looksLikeNifti(file)) {
      scans.push({ kind: "nifti", files: [index] });
      continue;
    }
    images.push(index);
  }
  for (const { items } of groupSeries(dicoms)) {
    const group = items.map((item) => item.index);
    if (group.length < 2) images.push(...group);
    else scans.push({ kind: "series", files: group });
  }
  return { scans, images: images.sort((a, b) => a - b) };
}
