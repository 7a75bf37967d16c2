// Ways files come in: the two pickers, a drop anywhere on the page (folders read recursively)
// and a paste; each hands its files to the batch.
import { addFiles } from "./rows.js";
import { $ } from "./dom.js";

// Files from a drop, folders included (read recursively), skipping hidden folders (.git, ...);
// hidden files are returned, so that the page counts them among the skipped.
async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files];
  const files = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      // A dropped folder's files keep their path, as the folder picker's do: folder names can be labels.
      const path = entry.fullPath.replace(/^\//, "");
      if (path.includes("/")) Object.defineProperty(file, "webkitRelativePath", { value: path });
      files.push(file);
      return;
    }
    if (entry.name.startsWith(".")) return;
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await walk(child);
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}

/** Hands the files of every way in to the batch (rows.js addFiles). */
export function wireInput() {
  const fileInput = $("file-input");
  const folderInput = $("folder-input");
  $("pick-files").addEventListener("click", () => fileInput.click());
  $("pick-folder").addEventListener("click", () => folderInput.click());
  for (const input of [fileInput, folderInput]) {
    input.addEventListener("change", () => {
      addFiles(input.files);
      input.value = "";
    });
  }
  const dropzone = $("dropzone");
  let dragDepth = 0;
  document.addEventListener("dragenter", (event) => {
    if (!event.dataTransfer?.types.includes("Files")) return;
    dragDepth += 1;
    dropzone.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) dropzone.classList.remove("dragging");
  });
  // Dropped anywhere on the page, files are classified rather than opened by the browser.
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", async (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove("dragging");
    if (event.dataTransfer) addFiles(await droppedFiles(event.dataTransfer));
  });
  // Pasting an image (e.g. a screenshot of a slice) classifies it too.
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length) addFiles(files);
  });
}
