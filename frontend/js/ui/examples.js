// "Try an example": a few slices shipped with the page (frontend/examples/, each with a licence
// that allows redistribution), fetched from the page's own origin and handed to the batch as a
// user's files are, so they take exactly the user's path.
import { addFiles } from "./rows.js";
import { $, announce } from "./dom.js";

const EXAMPLES_DIR = new URL("../../examples/", import.meta.url);
// The names carry what each slice is; frontend/examples/README.md gives each one's source and licence.
export const EXAMPLE_FILES = [
  "glioma-t2-upenn-gbm-00002.jpg",
  "normal-t1-openneuro-ds000177.jpg",
  "normal-t2-torchio.jpg",
  "normal-t1-ixi-hh.jpg",
];

async function exampleFile(name) {
  const response = await fetch(new URL(name, EXAMPLES_DIR));
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  const blob = await response.blob();
  return new File([blob], name, { type: blob.type || "image/jpeg" });
}

/** Wires the "Try an example" button: the examples go to the batch (rows.js addFiles). */
export function wireExamples() {
  const button = $("try-example");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      addFiles(await Promise.all(EXAMPLE_FILES.map(exampleFile)));
    } catch (err) {
      announce(`The examples could not be loaded (${err.message}).`);
    } finally {
      button.disabled = false;
    }
  });
}
