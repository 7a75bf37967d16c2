// What a file is, from its name and first bytes, and what the page refuses to read: the junk a
// folder carries, documents, DICOM and NIfTI headers, images too large. The page sorts a drop with
// it, so that only the files that may be scans wait for the worker's split; the worker decodes by
// it. DOM-free, tested by Node.

// A decompression bomb guard, the same limit as mri/images.py MAX_PIXELS.
export const MAX_PIXELS = 40_000_000;
const DICOM_MAGIC_OFFSET = 128;
// Enough of a file to tell DICOM (the preamble and "DICM") from other images.
export const DICOM_HEADER_BYTES = DICOM_MAGIC_OFFSET + 4;
// Enough of a file to tell DICOM, NIfTI-1 (348 bytes), NIfTI-2 (540 bytes) and gzip.
const HEAD_BYTES = 540;
const GZIP_MAGIC = [0x1f, 0x8b];

// Files that folders carry besides images and nobody added on purpose: system thumbnails and
// settings, hidden files. They are skipped and counted in one line.
const JUNK_NAMES = new Set(["thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"]);
const JUNK_EXTENSIONS = /\.(ini|db|url|lnk)$/i;

// Documents and other files that are no image: each gets a row saying what it is and what to do.
const DOCUMENT_KINDS = [
  [/\.pdf$/i, "a PDF document", "If it holds slices, save them as PNG or JPEG images and add those."],
  [/\.(docx?|odt|rtf|pages)$/i, "a text document", "If it holds slices, save them as PNG or JPEG images and add those."],
  [/\.(pptx?|odp|key)$/i, "a presentation", "If it holds slices, save them as PNG or JPEG images and add those."],
  [/\.(txt|md|log)$/i, "a text file", "It holds no image to classify."],
  [/\.(csv|tsv|json|xml|xlsx?|ods)$/i, "a data file", "It holds no image to classify."],
  [/\.html?$/i, "a web page", "Save the slices it shows as PNG or JPEG images and add those."],
  [/\.(zip|rar|7z|tar)$/i, "an archive", "Unpack it, then add the folder."],
];

/** True for a file that is not meant to be an image: hidden (".x", inside ".dir/"), thumbnails, settings. */
export function isJunk(path) {
  const parts = String(path).split(/[\\/]/).filter(Boolean);
  const name = parts[parts.length - 1] ?? "";
  if (parts.some((part) => part.startsWith(".") || part === "__MACOSX")) return true;
  return JUNK_NAMES.has(name.toLowerCase()) || JUNK_EXTENSIONS.test(name);
}

/** A document's path -> the sentence its row shows (what it is, what the page reads, what to do); null for others. */
export function unsupportedMessage(path) {
  const name = String(path).split(/[\\/]/).pop();
  const kind = DOCUMENT_KINDS.find(([pattern]) => pattern.test(name));
  if (!kind) return null;
  return `${name} is ${kind[1]}, not an image: the page reads brain MRI slices as JPEG, PNG or DICOM files, and ` +
    `whole scans as NIfTI or DICOM series. ${kind[2]}`;
}

/**
 * Splits files ({name, webkitRelativePath?}) into {kept, skipped, unsupported}: the skipped as
 * path names, the unsupported (documents: unsupportedMessage) as files.
 */
export function withoutJunk(files) {
  const kept = [];
  const skipped = [];
  const unsupported = [];
  for (const file of files) {
    const path = file.webkitRelativePath || file.name;
    if (isJunk(path)) skipped.push(path);
    else (unsupportedMessage(path) ? unsupported : kept).push(file);
  }
  return { kept, skipped, unsupported };
}

/** "Skipped 3 files that are not images: README.txt, thumbs.db, .DS_Store." (at most `shown` named). */
export function skippedLine(skipped, shown = 5) {
  if (!skipped.length) return "";
  const names = skipped.slice(0, shown).map((path) => path.split(/[\\/]/).pop());
  const more = skipped.length > shown ? ` and ${skipped.length - shown} more` : "";
  return `Skipped ${skipped.length} file${skipped.length === 1 ? "" : "s"} that ${skipped.length === 1 ? "is" : "are"} ` +
    `not ${skipped.length === 1 ? "an image" : "images"} (system or hidden files): ${names.join(", ")}${more}.`;
}

/** A file that is not an image we can read; the message names the file and what to do. */
export class ImageDecodeError extends Error {
  constructor(message) {
    super(message);
    this.name = "ImageDecodeError";
  }
}

/** Throws ImageDecodeError for an image too large to decode safely (mri/images.py's rule). */
export function checkPixelCount(width, height, name) {
  if (width * height > MAX_PIXELS) {
    throw new ImageDecodeError(`${name} has ${width}x${height} pixels, more than the ` +
      `${MAX_PIXELS.toLocaleString("en")} allowed; resize it first.`);
  }
}

/** True for a DICOM Part 10 file: "DICM" after the 128-byte preamble (mri/images.py is_dicom). */
export function isDicom(bytes) {
  return bytes.length >= DICOM_HEADER_BYTES &&
    String.fromCharCode(...bytes.subarray(DICOM_MAGIC_OFFSET, DICOM_MAGIC_OFFSET + 4)) === "DICM";
}

/** True for a gzip stream (a .nii.gz). */
export function isGzip(bytes) {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** 1 or 2 when the (inflated) bytes start with a NIfTI header, else null. */
export function niftiVersion(bytes) {
  const text = (start) => String.fromCharCode(...bytes.subarray(start, start + 3));
  if (bytes.length >= 348 && ["n+1", "ni1"].includes(text(344)) && bytes[347] === 0) return 1;
  if (bytes.length >= 540 && ["n+2", "ni2"].includes(text(4)) && bytes[7] === 0) return 2;
  return null;
}

/**
 * withoutJunk(files) and, among the kept, `scans`: those whose first bytes say DICOM, NIfTI or
 * gzip (a .nii.gz), which may be scans; the worker's split tells which are. The rest are images.
 */
export async function sortDrop(files) {
  const sorted = withoutJunk(files);
  // A file that cannot be read goes the image way, whose row says so.
  const head = (file) => file.slice(0, HEAD_BYTES).arrayBuffer().then((buffer) => new Uint8Array(buffer), () => new Uint8Array());
  const heads = await Promise.all(sorted.kept.map(head));
  const scans = sorted.kept.filter((_, i) => isDicom(heads[i]) || isGzip(heads[i]) || niftiVersion(heads[i]) !== null);
  return { ...sorted, scans };
}
