// Runs the page's own modules on inputs from Python, for the parity tests in tests/
// (test_page_parity.py, test_explain.py): the Python reference and the page must agree.
//
//   node frontend/tests/helpers/parity.mjs job.json
//
// Arrays travel as raw little-endian float32 files. Jobs:
//   {"task": "model_input", "pixels", "width", "height", "channels", "input": {height, width, channels}, "out"}
//   {"task": "dicom", "file", "frame": null | n, "out", "stored"?} -> out holds the decoded data (and
//                                                                   stored, if given, the stored values);
//                                                                   stdout: {width, height, channels, frames, frame}
//   {"task": "scope", "headers": [{...DICOM header fields}]} -> {answers: [judge(header)]}
//   {"task": "occlusion_map", "base", "scores", "height", "width", "out"}
//   {"task": "explain", "model_dir", "input_name", "output_name", "pixels", "input": {...}, "class_index", "out"}
//   {"task": "feature_scope", "block", "features", "dimension", "model_dir"?, "input_name"?, "output_name"?,
//    "pixels"?, "input"?} -> {distances: [featureScope(row).distance for each features row],
//                             graph: [the same from the graph model's node, run with the output, per pixels image]}
//   {"task": "scan", "scans": [[paths of one scan]], "out": dir} -> dir/<i>.u8 holds scan i's uint8 slices;
//                                                                   stdout: {answers: [{count, rows, columns, head, notes} | {error}]}
import { readFile, writeFile } from "node:fs/promises";

import { decodeDicomFrame, dicomPixels, readDicom } from "../../js/worker/dicom.js";
import { featureScope } from "../../js/shared/featurescope.js";
import { occlusionMap, occlusionPatches, occlusionSensitivity, occlusionSettings } from "../../js/shared/explain.js";
import { toModelInput } from "../../js/worker/preprocess.js";
import { readScan } from "../../js/worker/scans.js";
import { judge } from "../../js/shared/scope.js";
import { hasHead, sliceImage } from "../../js/worker/volume.js";

// TF.js from node_modules with the cpu backend: the same kernels' maths as the page's wasm.
async function cpuGraphModel(dir) {
  const tf = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-backend-cpu");
  const { loadGraphModelFromDir } = await import("../../../convert/verify.mjs");
  await tf.setBackend("cpu");
  return { tf, model: await loadGraphModelFromDir(dir) };
}

async function readFloats(file) {
  const bytes = await readFile(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const writeFloats = (file, array) => writeFile(file, Buffer.from(Float32Array.from(array).buffer));

const TASKS = {
  async scope(job) {
    return { answers: job.headers.map(judge) };
  },

  async scan(job) {
    const answers = [];
    for (const [i, paths] of job.scans.entries()) {
      const files = await Promise.all(paths.map(async (file) => new File([await readFile(file)], file.split("/").pop())));
      try {
        const { volume, notes } = await readScan(files.length === 1 ? files[0] : files);
        await writeFile(`${job.out}/${i}.u8`, volume.slices);
        const head = Array.from({ length: volume.count }, (_, k) => hasHead(sliceImage(volume, k)));
        answers.push({ count: volume.count, rows: volume.rows, columns: volume.columns, head, notes });
      } catch (err) {
        answers.push({ error: err.message });
      }
    }
    return { answers };
  },

  async model_input(job) {
    const image = { width: job.width, height: job.height, channels: job.channels, data: await readFloats(job.pixels) };
    await writeFloats(job.out, toModelInput(image, job.input));
    return {};
  },

  async dicom(job) {
    const dicom = await decodeDicomFrame(readDicom(new Uint8Array(await readFile(job.file)), { name: job.file, frame: job.frame ?? null }), job.file);
    if (dicom.jpeg) return { jpeg: true }; // the browser's decoder: checked in real Chromium (tests/e2e)
    const image = dicomPixels(dicom);
    if (job.stored) await writeFloats(job.stored, dicom.stored);
    await writeFloats(job.out, image.data);
    return { width: image.width, height: image.height, channels: image.channels, frames: dicom.frames, frame: dicom.frame };
  },

  async occlusion_map(job) {
    const { patch, stride } = occlusionSettings(job.height, job.width);
    const patches = occlusionPatches(job.height, job.width, patch, stride);
    await writeFloats(job.out, occlusionMap(job.base, await readFloats(job.scores), patches, job.height, job.width, patch));
    return { patch, stride, passes: patches.length };
  },

  async feature_scope(job) {
    const rows = await readFloats(job.features);
    const distances = [];
    for (let i = 0; i < rows.length; i += job.dimension) distances.push(featureScope(rows.subarray(i, i + job.dimension), job.block).distance);
    if (!job.model_dir) return { distances };
    const { tf, model } = await cpuGraphModel(job.model_dir);
    const { height, width, channels } = job.input;
    const size = height * width * channels;
    const pixels = await readFloats(job.pixels);
    const graph = [];
    for (let i = 0; i < pixels.length; i += size) {
      const outputs = model.execute({ [job.input_name]: tf.tensor4d(pixels.subarray(i, i + size), [1, height, width, channels]) },
        [job.output_name, job.block.node]);
      graph.push(featureScope(await outputs[1].data(), job.block).distance);
      tf.dispose(outputs);
    }
    return { distances, graph };
  },

  async explain(job) {
    const { tf, model } = await cpuGraphModel(job.model_dir);
    const { height, width, channels } = job.input;
    const predictBatch = async (batch, n) => {
      const output = tf.tidy(() => model.execute({ [job.input_name]: tf.tensor4d(batch, [n, height, width, channels]) }, job.output_name));
      const values = await output.data();
      output.dispose();
      return values;
    };
    const result = await occlusionSensitivity(predictBatch, await readFloats(job.pixels), job.input, job.class_index);
    await writeFloats(job.out, result.map);
    return { class_index: result.classIndex, probabilities: [...result.probabilities], patch: result.patch, passes: result.passes };
  },
};

const job = JSON.parse(await readFile(process.argv[2], "utf8"));
try {
  process.stdout.write(JSON.stringify(await TASKS[job.task](job)));
} catch (err) {
  process.stderr.write(`${err.name}: ${err.message}\n`);
  process.exitCode = 1;
}
