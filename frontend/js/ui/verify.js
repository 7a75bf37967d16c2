// "Check with the server": the one place the page sends an image, and only when asked.
import { serverAnswer } from "../shared/contract.js";

// Relative to the page, so the check goes to whichever server hosts it.
export const PREDICT_URL = "api/predict";

/**
 * POSTs one image (multipart field "image") to the page's own server and returns its answer in
 * the page's result shape. Throws an Error whose message a person can act on.
 */
export async function askServer(image, filename) {
  const body = new FormData();
  body.append("image", image, filename);
  let response;
  try {
    response = await fetch(new URL(PREDICT_URL, document.baseURI), {
      method: "POST",
      body,
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    throw new Error("The server could not be reached (offline?). The in-browser answer above stands on its own.");
  }
  const json = await response.json().catch(() => null);
  if (!response.ok) {
    if (json?.error) throw new Error(`The server could not classify it: ${json.error}`);
    if ([404, 405, 501].includes(response.status)) {
      throw new Error(`This host serves the page only; it offers no server check (HTTP ${response.status}).`);
    }
    throw new Error(`The server answered HTTP ${response.status} without an explanation.`);
  }
  return serverAnswer(json);
}
