// The classifier's own thread: TF.js, the model, decoding and preprocessing, so the page stays
// responsive through a batch of hundreds of files and a 225-pass explanation.
//
// Protocol: the page posts {id, type, ...args}; the worker answers {id, value} or
// {id, error: {name, message}}. Jobs run one at a time, in the order they arrive ("split",
// which reads only headers, at once).
import * as tf from "../../vendor/tfjs.js";
import { backendDetails, startBackend } from "./backends.js";
import { checkMetadata, shapeResult } from "../shared/contract.js";
import { featureScope, featureScopeBlock } from "../shared/featurescope.js";
import { modelVersion } from "../shared/hash.js";
import { decodeFile, dicomModule, previewBitmap, readImage, toModelInput } from "./preprocess.js";
import { decisionOf, verdictOf } from "../shared/results.js";
import { onFirstUse } from "./lazy.js";

// Scans, DICOM and explanations load on first use, and in the background once the model is ready:
// the model's start then waits only on the modules an image needs, not on two dozen more.
const explainModule = onFirstUse(() => import("../shared/explain.js"));
const scanModules = onFirstUse(async () => {
  const [{ readScan }, { splitScans }, { summarizeScan }, { hasHead, sliceImage }] = await Promise.all([
    import("./scans.js"), import("./split.js"), import("../shared/scanresults.js"), import("./volume.js")]);
  return { readScan, splitScans, summarizeScan, hasHead, sliceImage };
});

const MODEL_DIR = new URL("../../model/", import.meta.url);
// The service worker's cache of the model (sw.js serves from it offline).
const MODEL_CACHE = "model";

let state = null; // {runner: {model, io}, metadata, version, shape}
// Scans read in this session, by id, so the page can show and explain any slice without reading
// the file again; only the latest few are kept (a 240x240x155 volume is 9 MB of slices).
const scans = new Map();
const KEPT_SCANS = 6;
let nextScanId = 0;
// Slices per model call: one call's overhead shared, a batch's tensors still small (16 x 64 kB).
const SCAN_BATCH = 16;

async function fetchOk(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) {
    const name = url.pathname.slice(MODEL_DIR.pathname.length);
    throw new Error(`model/${name} could not be loaded (HTTP ${response.status}); the page needs the model ` +
      "folder beside it.");
  }
  return response;
}

// Keeps this model for offline use and drops any other version. The files were just downloaded,
// so this costs no request (a first visit's fetches happen before the service worker controls
// the page, so it cannot cache them itself).
async function keepForOffline(responses, version) {
  if (!self.caches) return; // plain-http hosts other than localhost have no Cache API
  const cache = await caches.open(MODEL_CACHE);
  await Promise.all(responses.map(([url, response]) => cache.put(url, response)));
  for (const request of await cache.keys()) {
    const v = new URL(request.url).searchParams.get("v");
    if (v !== null && v !== version) await cache.delete(request);
  }
}

// metadata.json, model.json and its weights: fetched while the backend starts (fetching needs no
// backend). The version in the model's URLs keys the caches: a new model is a new URL.
async function fetchModel() {
  const metadataUrl = new URL("metadata.json", MODEL_DIR);
  const metadataResponse = await fetchOk(metadataUrl, { cache: "no-cache" });
  const text = await metadataResponse.clone().text();
  const metadata = checkMetadata(JSON.parse(text));
  const version = modelVersion(metadata, text);
  const versioned = (name) => {
    const url = new URL(name, MODEL_DIR);
    url.searchParams.set("v", version);
    return url;
  };
  const modelUrl = versioned(metadata.tfjs?.model ?? "model.json");
  const modelResponse = await fetchOk(modelUrl);
  const modelJson = await modelResponse.clone().json();
  const shards = await Promise.all(modelJson.weightsManifest.flatMap((group) => group.paths)
    .map(async (path) => [versioned(path), await fetchOk(versioned(path))]));
  const buffers = await Promise.all(shards.map(([, response]) => response.clone().arrayBuffer()));
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) =>
    [manifest.flatMap((group) => group.weights), tf.io.concatenateArrayBuffers(buffers)]);
  keepForOffline([[metadataUrl, metadataResponse], [modelUrl, modelResponse], ...shards], version)
    .catch(() => undefined); // offline use is a bonus; classifying does not depend on it
  return { metadata, version, artifacts };
}

// The graph's input and output node names: the converter records them in metadata.json ("tfjs");
// a model converted without it has one input and one output, found in model.json.
function ioNames(model, metadata) {
  return {
    input: metadata.tfjs?.input?.name ?? model.inputs[0].name,
    output: metadata.tfjs?.output?.name ?? model.outputs[0].name,
  };
}

// The probabilities and, from the same call, the values of the graph's `extra` nodes.
async function run({ model, io }, input, shape, extra) {
  const outputs = [tf.tidy(() => model.execute({ [io.input]: tf.tensor4d(input, shape) }, [io.output, ...extra]))].flat();
  try {
    return await Promise.all(outputs.map((t) => t.data()));
  } finally {
    outputs.forEach((t) => t.dispose());
  }
}

const predict = async (runner, input, shape) => (await run(runner, input, shape, []))[0];

async function init({ backend = "auto", threads = "auto" } = {}) {
  const started = performance.now();
  const fetching = fetchModel();
  fetching.catch(() => undefined); // awaited below; a backend failure must not leave it unhandled
  const running = await startBackend(backend, threads);
  const backendMs = performance.now() - started;
  const { metadata, version, artifacts } = await fetching;
  const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const loadedMs = performance.now() - started;
  const { height, width, channels } = metadata.input;
  const runner = { model, io: ioNames(model, metadata) };
  const features = featureScopeBlock(metadata); // metadata.json's feature_scope, or null
  const [warmup] = await run(runner, new Float32Array(height * width * channels), [1, height, width, channels],
    features ? [features.node] : []);
  shapeResult(warmup, metadata, 0); // fails loudly if the model and metadata.json disagree
  state = { runner, metadata, version, shape: [1, height, width, channels], features };
  setTimeout(() => Promise.all([dicomModule(), scanModules(), explainModule()]).catch(() => undefined), 0);
  return {
    ...(await backendDetails(running)),
    crossOriginIsolated: self.crossOriginIsolated === true,
    tfjs: tf.version_core,
    metadata,
    version,
    timings: { backend: backendMs, load: loadedMs - backendMs, warmup: performance.now() - started - loadedMs },
  };
}

function requireModel() {
  if (!state) throw new Error("The model is not loaded yet.");
  return state;
}

// A file (or one slice of a scan already read: `slice` = {scan, index}) -> decoded image.
async function decodeInput(file, name, frame, slice) {
  if (!slice) return decodeFile(file, { name, frame });
  const scan = scans.get(slice.scan);
  if (!scan) throw new Error("That scan is no longer held by the page; add its file again.");
  const { sliceImage } = await scanModules();
  return { image: sliceImage(scan.volume, slice.index), dicom: false, frames: 1, frame: 0 };
}

// The same, with the model's input.
async function prepare(file, name, frame, slice = null) {
  const { metadata } = requireModel();
  if (!slice) return readImage(file, { name, frame }, metadata.input);
  const decoded = await decodeInput(file, name, frame, slice);
  return { ...decoded, input: toModelInput(decoded.image, metadata.input) };
}

async function classify({ file, name, frame }) {
  const { runner, metadata, shape, features: block } = requireModel();
  const t0 = performance.now();
  const { image, input, dicom, frames, frame: shown, scope = null } = await prepare(file, name, frame);
  const t1 = performance.now();
  const [probabilities, features] = await run(runner, input, shape, block ? [block.node] : []);
  const t2 = performance.now();
  const featureVerdict = features ? featureScope(features, block) : null;
  const result = shapeResult(probabilities, metadata, t2 - t0);
  return {
    ...result,
    ...verdictOf(result, { input, image, scope, features: featureVerdict }, metadata),
    scope,
    featureScope: featureVerdict && { distance: featureVerdict.distance, outOfScope: featureVerdict.outOfScope },
    dicom,
    frames,
    frame: shown,
    timings: { decode: t1 - t0, inference: t2 - t1 },
  };
}

async function explain({ file, name, frame, label, slice }) {
  const { runner, metadata, shape } = requireModel();
  const started = performance.now();
  const { input } = await prepare(file, name, frame, slice);
  const [, height, width, channels] = shape;
  const classIndex = label == null ? null : metadata.labels.indexOf(label);
  if (classIndex === -1) throw new Error(`Unknown label ${label}; the model's labels are ${metadata.labels.join(", ")}.`);
  const predictBatch = (batch, n) => predict(runner, batch, [n, height, width, channels]);
  const { occlusionSensitivity } = await explainModule();
  const explained = await occlusionSensitivity(predictBatch, input, { height, width, channels }, classIndex);
  return { map: explained.map, height, width, label: metadata.labels[explained.classIndex], patch: explained.patch,
    stride: explained.stride, passes: explained.passes, ms: performance.now() - started };
}

async function render({ file, name, frame, slice }) {
  const { image } = await decodeInput(file, name, frame, slice);
  return previewBitmap(image);
}

// A DICOM frame as the page shows it, as PNG: what "Check with the server" sends instead of the
// file, whose header holds patient data.
async function png({ file, name, frame, slice }) {
  const { image } = await decodeInput(file, name, frame, slice);
  const bitmap = await previewBitmap(image, Infinity);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  bitmap.close();
  return canvas.convertToBlob({ type: "image/png" });
}

// A NIfTI file or a DICOM series -> every slice with enough head classified, in batches.
async function classifyScan({ files, name }) {
  const { runner, metadata, shape } = requireModel();
  const [, height, width, channels] = shape;
  const started = performance.now();
  const { readScan, summarizeScan, hasHead, sliceImage } = await scanModules();
  const { volume, notes, name: label, scope = null, slices: sliceInfo = null } = await readScan(files.length === 1 ? files[0] : files, { name });
  const read = performance.now();
  const indices = [];
  // A series whose headers put it outside the model's scope is not classified at all.
  if (!scope?.withheld) for (let k = 0; k < volume.count; k += 1) if (hasHead(sliceImage(volume, k))) indices.push(k);
  const size = height * width * channels;
  const slices = [];
  for (let start = 0; start < indices.length; start += SCAN_BATCH) {
    const batch = indices.slice(start, start + SCAN_BATCH);
    const inputs = new Float32Array(batch.length * size);
    batch.forEach((k, b) => inputs.set(toModelInput(sliceImage(volume, k), metadata.input), b * size));
    const probabilities = await predict(runner, inputs, [batch.length, height, width, channels]);
    const labels = metadata.labels.length;
    batch.forEach((index, b) => {
      const { label: top, probabilities: byLabel, tumorProbability } =
        shapeResult(probabilities.subarray(b * labels, (b + 1) * labels), metadata, 0);
      slices.push({ index, label: top, probabilities: byLabel, tumorProbability });
    });
  }
  const id = nextScanId;
  nextScanId += 1;
  scans.set(id, { volume });
  for (const old of scans.keys()) if (scans.size > KEPT_SCANS) scans.delete(old);
  const ms = performance.now() - started;
  return {
    scan: id,
    name: label,
    slices,
    summary: summarizeScan(slices, volume.count, notes, decisionOf(metadata).tumour),
    level: scope?.withheld ? "not-mri" : null,
    reasons: scope?.reasons ?? [],
    scope,
    size: { slices: volume.count, rows: volume.rows, columns: volume.columns },
    sliceInfo, // a DICOM series': [{instance, position}] per slice, or null
    ms,
    timings: { read: read - started, classify: ms - (read - started) },
  };
}

// The viewer's full-resolution pixels (ui/viewer.js): a file's decoded image, or a scan's slices.
async function pixels({ file, name, frame, scan = null }) {
  if (scan === null) return (await decodeFile(file, { name, frame })).image;
  const held = scans.get(scan);
  if (!held) throw new Error("That scan is no longer held by the page; add its file again.");
  const { columns, rows, count, slices } = held.volume;
  return { columns, rows, slices: count, data: slices };
}

function memory() {
  const { numTensors, numBytes } = tf.memory();
  return { numTensors, numBytes, backend: tf.getBackend() };
}

// Which files of a drop are scans: headers only, no model needed (split.js).
const split = async ({ files }) => (await scanModules()).splitScans(files);

const HANDLERS = { init, classify, classifyScan, explain, render, png, pixels, memory, split };
let queue = Promise.resolve();

self.addEventListener("message", ({ data: { id, type, ...args } }) => {
  const job = async () => {
    try {
      const value = await HANDLERS[type](args);
      const transfer = [value?.map?.buffer, value instanceof ImageBitmap ? value : null].filter(Boolean);
      self.postMessage({ id, value }, transfer);
    } catch (err) {
      self.postMessage({ id, error: { name: err.name ?? "Error", message: err.message ?? String(err) } });
    }
  };
  // A split touches no model: it runs at once, so a drop's rows appear while the model loads.
  if (type === "split") job();
  else queue = queue.then(job);
});
