// Which files of a drop or folder are worth classifying, and which are the same file twice.
// DOM-free, tested by Node.
import { cyrb53 } from "../shared/hash.js";

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

/** A content key for spotting the same bytes added twice: size and two 32-bit hashes (cyrb53). */
export function contentKey(bytes) {
  const [h1, h2] = cyrb53(bytes.length, (i) => bytes[i]);
  return `${bytes.length}:${h1.toString(36)}:${h2.toString(36)}`;
}
