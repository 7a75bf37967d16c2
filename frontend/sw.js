// Service worker: the page and its model keep working offline, and a new model is picked up on
// the next visit.
//
// - App files: stale-while-revalidate. A visit is served from the cache at once and the cache is
//   refreshed behind it, so an updated page arrives, whole, on the visit after.
// - model/metadata.json: network first (the cache only when offline). The worker derives the
//   model's version from it and loads model.json?v=<version>, whose shards inherit the query.
// - Versioned model files: cache first; they never change under the same version. The page's
//   worker puts each model it loads into the same cache (and deletes other versions), so the
//   model is kept even from a first visit, before this worker controls the page.
// - Anything else (other origins, POST /api/predict): not touched.
const CACHE_VERSION = 4;
const APP_CACHE = `app-v${CACHE_VERSION}`;
const MODEL_CACHE = "model";
// Everything the page needs on its usual path (wasm backend), the compressed-DICOM decoders
// included (js/worker/codecs.js), so that a hospital's files open offline too, and the viewer's NiiVue
// (js/ui/viewer.js imports it when a viewer opens), and the "Try an example" slices (under 100 KB
// in all). The webgl and cpu fallbacks and the non-SIMD wasm binary are cached when a browser
// first uses them.
const APP_FILES = [
  "./",
  "css/app.css",
  "examples/glioma-t2-upenn-gbm-00002.jpg",
  "examples/normal-t1-ixi-hh.jpg",
  "examples/normal-t1-openneuro-ds000177.jpg",
  "examples/normal-t2-torchio.jpg",
  "icon.svg",
  "manifest.webmanifest",
  "js/shared/batch.js",
  "js/shared/collections.js",
  "js/shared/contract.js",
  "js/shared/csv.js",
  "js/shared/explain.js",
  "js/shared/files.js",
  "js/shared/featurescope.js",
  "js/shared/format.js",
  "js/shared/hash.js",
  "js/shared/modelcard.js",
  "js/shared/results.js",
  "js/shared/scanresults.js",
  "js/shared/scope.js",
  "js/ui/card.js",
  "js/ui/classifier.js",
  "js/ui/detail.js",
  "js/ui/dom.js",
  "js/ui/examples.js",
  "js/ui/heatmap.js",
  "js/ui/input.js",
  "js/ui/main.js",
  "js/ui/rows.js",
  "js/ui/scancard.js",
  "js/ui/scanstrip.js",
  "js/ui/scanview.js",
  "js/ui/server-check.js",
  "js/ui/sort.js",
  "js/ui/state.js",
  "js/ui/summary.js",
  "js/ui/table.js",
  "js/ui/ui.js",
  "js/ui/verify.js",
  "js/ui/viewer.js",
  "js/ui/viewervolumes.js",
  "js/worker/backends.js",
  "js/worker/codecs.js",
  "js/worker/dicom.js",
  "js/worker/lazy.js",
  "js/worker/nifti.js",
  "js/worker/preprocess.js",
  "js/worker/rle.js",
  "js/worker/scans.js",
  "js/worker/series.js",
  "js/worker/split.js",
  "js/worker/volume.js",
  "js/worker/worker.js",
  "vendor/charls-decode.js",
  "vendor/charlswasm_decode.wasm",
  "vendor/dicom-parser.js",
  "vendor/fflate-unused.js",
  "vendor/jpeg-lossless.js",
  "vendor/nifti-extension.js",
  "vendor/nifti-reader.js",
  "vendor/nifti1.js",
  "vendor/nifti2.js",
  "vendor/niivue.js",
  "vendor/node-builtins.js",
  "vendor/openjpeg-decode.js",
  "vendor/openjpegwasm_decode.wasm",
  "vendor/tfjs-backend-wasm-simd.wasm",
  "vendor/tfjs-backend-wasm-threaded-simd.wasm",
  "vendor/tfjs.js",
  "vendor/utilities.js",
];

const scope = new URL(self.registration?.scope ?? "./", self.location.href);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(APP_CACHE);
    await cache.addAll(APP_FILES.map((path) => new URL(path, scope).href));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = new Set([APP_CACHE, MODEL_CACHE]);
    await Promise.all((await caches.keys()).filter((name) => !keep.has(name)).map((name) => caches.delete(name)));
    // No clients.claim(): a page loaded without this worker keeps running without it, so nothing
    // changes under a page mid-batch; the next visit is served by it.
  })());
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const path = url.pathname.slice(scope.pathname.length);
  if (path.startsWith("api/")) return;
  if (path.startsWith("model/")) {
    event.respondWith(url.searchParams.has("v") ? modelFile(request) : networkFirst(request));
    return;
  }
  event.respondWith(staleWhileRevalidate(event, request));
});

async function modelFile(request) {
  const cache = await caches.open(MODEL_CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(MODEL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw err;
  }
}

async function staleWhileRevalidate(event, request) {
  const cache = await caches.open(APP_CACHE);
  // Navigations (with or without ?backend=... and the like) are the page itself.
  const key = request.mode === "navigate" ? scope.href : request;
  const cached = await cache.match(key, { ignoreSearch: request.mode === "navigate" });
  // Revalidate with the server even where HTTP caching would allow reuse, so code and libraries
  // stay in step. (A navigation request cannot be re-issued with options; its URL can.)
  const revalidate = request.mode === "navigate"
    ? new Request(request.url, { cache: "no-cache", credentials: "same-origin" })
    : new Request(request, { cache: "no-cache" });
  const refresh = fetch(revalidate).then(async (response) => {
    if (response.ok && response.type === "basic") await cache.put(key, response.clone());
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}
