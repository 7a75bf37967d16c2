// Which files of a drop or folder are worth classifying, and which are the same file twice.
// DOM-free, tested by Node.
import { cyrb53 } from "../shared/hash.js";

// Files that folders carry besides images: notes, system thumbnails and settings, hidden files.
const JUNK_NAMES = new Set(["thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"]);
const JUNK_EXTENSIONS = /\.(txt|md|rtf|csv|json|xml|html?|pdf|docx?|ini|db|log|zip|url|lnk)$/i;

/** True for a file that is not meant to be an image: hidden (".x", inside ".dir/"), notes, thumbnails. */
export function isJunk(path) {
  const parts = String(path).split(/[\\/]/).filter(Boolean);
  const name = parts[parts.length - 1] ?? "";
  if (parts.some((part) => part.startsWith(".") || part === "__MACOSX")) return true;
  return JUNK_NAMES.has(name.toLowerCase()) || JUNK_EXTENSIONS.test(name);
}

/** Splits files ({name, webkitRelativePath?}) into {kept, skipped} (the skipped as path names). */
export function withoutJunk(files) {
  const kept = [];
  const skipped = [];
  for (const file of files) {
    const path = file.webkitRelativePath || file.name;
    (isJunk(path) ? skipped : kept).push(isJunk(path) ? path : file);
  }
  return { kept, skipped };
}

/** "Skipped 3 files that are not images: README.txt, thumbs.db, .DS_Store." (at most `shown` named). */
export function skippedLine(skipped, shown = 5) {
  if (!skipped.length) return "";
  const names = skipped.slice(0, shown).map((path) => path.split(/[\\/]/).pop());
  const more = skipped.length > shown ? ` and ${skipped.length - shown} more` : "";
  return `Skipped ${skipped.length} file${skipped.length === 1 ? "" : "s"} that ${skipped.length === 1 ? "is" : "are"} ` +
    `not ${skipped.length === 1 ? "an image" : "images"} (notes, system or hidden files): ${names.join(", ")}${more}.`;
}

/** A content key for spotting the same bytes added twice: size and two 32-bit hashes (cyrb53). */
export function contentKey(bytes) {
  const [h1, h2] = cyrb53(bytes.length, (i) => bytes[i]);
  return `${bytes.length}:${h1.toString(36)}:${h2.toString(36)}`;
}
