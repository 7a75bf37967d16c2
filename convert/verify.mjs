// Runs a converted TF.js graph model in Node, the way the page runs it (tfjs + wasm backend, one
// image per call, input fed and output fetched by the names in metadata.json), on float32 inputs
// written by convert/parity.py, and writes the probabilities back for Python to compare.
//
//   node convert/verify.mjs job.json
//
// job.json: {"model_dir", "input_name", "output_name", "backend": "wasm"|"cpu",
//            "inputs": "<raw little-endian float32 file>", "shape": [n, h, w, c],
//            "outputs": "<file to write, float32 [n, classes]>", "result": "<json file to write>"}
// Also importable: `loadGraphModelFromDir(dir)` loads a graph model from the file system.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The same packages the page vendors: core, the graph-model loader and the backends.
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);
// The .wasm binaries ship in the npm package; point the backend at them (no network, no CDN).
const WASM_DIR = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;

/** A tf.io handler that reads model.json and its weight shards from a folder. */
export function fileSystemHandler(dir) {
  return {
    async load() {
      const modelJson = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = [];
        const buffers = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const shard of group.paths) {
            const bytes = await readFile(path.join(dir, shard));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

export async function useBackend(name) {
  if (name === 'wasm') setWasmPaths(WASM_DIR);
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend "${name}" could not start.`);
  await tf.ready();
}

export async function loadGraphModelFromDir(dir) {
  return loadGraphModel(fileSystemHandler(dir));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs every input through the model, one [1, h, w, c] batch at a time, as the page does. */
export function predictEach(model, pixels, shape, inputName, outputName) {
  const [n, h, w, c] = shape;
  const size = h * w * c;
  const run = (i) => tf.tidy(() => {
    const x = tf.tensor4d(pixels.subarray(i * size, (i + 1) * size), [1, h, w, c], 'float32');
    return model.execute({ [inputName]: x }, outputName);
  });
  // Warm-up: the first call compiles kernels and is not what a user waits for on later images.
  const warmup = run(0);
  const classes = warmup.shape[warmup.shape.length - 1];
  warmup.dispose();
  const tensorsBefore = tf.memory().numTensors;
  const outputs = new Float32Array(n * classes);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const y = run(i);
    outputs.set(y.dataSync(), i * classes);
    ms.push(performance.now() - start);
    y.dispose();
  }
  return { outputs, classes, ms, leakedTensors: tf.memory().numTensors - tensorsBefore };
}

async function main(jobPath) {
  const job = JSON.parse(await readFile(jobPath, 'utf8'));
  await useBackend(job.backend ?? 'wasm');
  const model = await loadGraphModelFromDir(job.model_dir);
  const inputNames = model.inputs.map((t) => t.name);
  if (!inputNames.includes(job.input_name)) {
    throw new Error(`The model's inputs are ${JSON.stringify(inputNames)}, not "${job.input_name}".`);
  }
  const bytes = await readFile(job.inputs);
  const pixels = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const expected = job.shape.reduce((a, b) => a * b, 1);
  if (pixels.length !== expected) {
    throw new Error(`${job.inputs} holds ${pixels.length} floats; shape ${JSON.stringify(job.shape)} needs ${expected}.`);
  }
  const { outputs, classes, ms, leakedTensors } = predictEach(model, pixels, job.shape, job.input_name, job.output_name);
  model.dispose();
  await writeFile(job.outputs, Buffer.from(outputs.buffer));
  await writeFile(job.result, JSON.stringify({
    backend: tf.getBackend(),
    tfjs_version: tf.version_core,
    wasm_simd: job.backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : null,
    shape: [job.shape[0], classes],
    ms_median: median(ms),
    leaked_tensors: leakedTensors,
  }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.length !== 3) {
    console.error('usage: node convert/verify.mjs job.json');
    process.exit(2);
  }
  main(process.argv[2]).catch((err) => {
    console.error(err && err.message ? err.message : err);
    process.exit(1);
  });
}
