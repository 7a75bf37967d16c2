// Builds frontend/vendor/tfjs.js: TF.js core, the converter's graph model and the wasm backend in
// one ES module that holds only the ops and kernels the page's model runs. The three npm bundles
// carry every op and kernel (686 kB); compiling and evaluating them was most of a first visit's
// wait on two cores (docs/log.md), so the page gets TF.js's own "custom bundle" recipe: the
// converter's op table and the backend's kernel registry cut down to MODEL_OPS.
//
// The webgl and cpu backends stay whole, loaded only as fallbacks; they import core by name, so
// this module also exports every core name they import (read from their bundles here).
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as esbuild from "esbuild";

// Each graph op of the model (model.json "op"), with the core ops the converter calls for it and
// the wasm kernels those ops dispatch. tests/ check that every op of frontend/model is listed.
export const MODEL_OPS = {
  Placeholder: [[], []], Const: [[], []], Identity: [[], ["Identity"]],
  Shape: [["tensor1d", "tensor"], []],
  StridedSlice: [["stridedSlice"], ["StridedSlice", "Slice", "Reshape"]],
  Max: [["max"], ["Max", "Transpose"]], Mean: [["mean"], ["Mean", "Transpose", "Reshape"]],
  ArgMax: [["argMax"], ["ArgMax", "Transpose"]],
  Mul: [["mul"], ["Multiply"]], Sub: [["sub"], ["Sub"]], AddV2: [["add"], ["Add"]], RealDiv: [["div"], ["RealDiv"]],
  Maximum: [["maximum"], ["Maximum"]], SquaredDifference: [["squaredDifference"], ["SquaredDifference"]],
  Relu: [["relu"], ["Relu"]], Sign: [["sign"], ["Sign"]], Sqrt: [["sqrt"], ["Sqrt"]],
  Range: [["range"], ["Range"]], Cast: [["cast"], ["Cast"]], ReverseV2: [["reverse"], ["Reverse"]],
  GreaterEqual: [["greaterEqual"], ["GreaterEqual"]], Equal: [["equal"], ["Equal"]], SelectV2: [["where"], ["Select", "Tile"]],
  Pack: [["stack", "reshape", "squeeze"], ["Pack", "ExpandDims", "Concat", "Reshape"]],
  CropAndResize: [["image.cropAndResize"], ["CropAndResize"]],
  _FusedConv2D: [["fused.conv2d"], ["FusedConv2D"]],
  DepthwiseConv2dNative: [["depthwiseConv2d"], ["DepthwiseConv2dNative"]],
  _FusedMatMul: [["fused.matMul"], ["_FusedMatMul", "BatchMatMul", "Reshape"]],
  Softmax: [["softmax"], ["Softmax"]],
};
// What the page's worker (js/worker/worker.js, backends.js) uses by name.
const PAGE_NAMES = {
  core: ["setBackend", "ready", "env", "tidy", "tensor4d", "memory", "getBackend", "io", "version_core"],
  converter: ["loadGraphModel"],
  wasm: ["setWasmPaths", "getThreadsCount", "setThreadsCount"],
};
// Core ops live one per file, named in snake case (image.cropAndResize: ops/image/crop_and_resize.js).
const opFile = (name) => `ops/${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(".", "/")}.js`;
const IMPORTED_NAMES = /import\{([^}]*)\}from"@tensorflow\/tfjs-core"/g;

// The core names a fallback bundle imports ({a as b,c} -> a, c).
export async function coreNamesImportedBy(files) {
  const names = new Set();
  for (const file of files) {
    for (const [, list] of (await readFile(file, "utf8")).matchAll(IMPORTED_NAMES)) {
      for (const item of list.split(",")) names.add(item.trim().split(/\s+as\s+/)[0]);
    }
  }
  return [...names].sort();
}

function sources(dirs, fallbackNames) {
  const ops = [...new Set(Object.values(MODEL_OPS).flatMap(([names]) => names))].sort();
  const kernels = [...new Set(Object.values(MODEL_OPS).flatMap(([, names]) => names))].sort();
  const core = (file) => JSON.stringify(path.join(dirs.core, "dist", file));
  const namespaces = { image: [], fused: [] };
  const plain = [];
  for (const op of ops) {
    const [space, name] = op.split(".");
    if (name) namespaces[space].push(name);
    else plain.push(op);
  }
  const opsForConverter = [
    ...plain.map((op) => `export { ${op} } from ${core(opFile(op))};`),
    ...Object.entries(namespaces).flatMap(([space, names]) => [
      ...names.map((n) => `import { ${n} as ${space}_${n} } from ${core(opFile(`${space}.${n}`))};`),
      `export const ${space} = { ${names.map((n) => `${n}: ${space}_${n}`).join(", ")} };`]),
  ].join("\n");
  // Kernels/Softmax.js exports softmaxConfig, Kernels/_FusedMatMul.js _fusedMatMulConfig.
  const config = (kernel) => kernel.replace(/^(_?)([A-Z])/, (m, u, c) => u + c.toLowerCase()) + "Config";
  const wasmKernels = kernels.map((k, i) => `import { ${config(k)} as k${i} } from ` +
    `${JSON.stringify(path.join(dirs.wasm, "dist", "kernels", `${k}.js`))};`);
  const wasm = [`import { registerKernel } from "@tensorflow/tfjs-core";`, ...wasmKernels,
    `for (const config of [${kernels.map((k, i) => `k${i}`).join(", ")}]) registerKernel(config);`,
    `export { ${PAGE_NAMES.wasm.join(", ")} } from ${JSON.stringify(path.join(dirs.wasm, "dist", "base.js"))};`].join("\n");
  const coreNames = [...new Set([...PAGE_NAMES.core, ...fallbackNames])].sort();
  const entry = [`export { ${coreNames.join(", ")} } from "@tensorflow/tfjs-core";`,
    `export { ${PAGE_NAMES.converter.join(", ")} } from "@tensorflow/tfjs-converter";`,
    `export { ${PAGE_NAMES.wasm.join(", ")} } from "tfjs-wasm-kernels";`].join("\n");
  // Core without index.js: index.js also registers the optimizers (training only).
  const coreBase = `import ${core("base_side_effects.js")};\nexport * from ${core("base.js")};`;
  return { entry, coreBase, opsForConverter, wasm };
}

// The bundle's code, minified; `dirs` are the folders of tfjs-core and tfjs-backend-wasm.
export async function buildTfjsBundle(dirs, fallbackFiles) {
  const { entry, coreBase, opsForConverter, wasm } = sources(dirs, await coreNamesImportedBy(fallbackFiles));
  const virtual = { "tfjs-page-entry": entry, "tfjs-core-base": coreBase, "tfjs-ops-for-converter": opsForConverter,
    "tfjs-wasm-kernels": wasm };
  const plugin = { name: "tfjs-custom", setup(build) {
    build.onResolve({ filter: /^tfjs-page-entry$|^tfjs-wasm-kernels$/ }, (a) => ({ path: a.path, namespace: "virtual" }));
    build.onResolve({ filter: /^@tensorflow\/tfjs-core$/ }, () => ({ path: "tfjs-core-base", namespace: "virtual" }));
    build.onResolve({ filter: /ops\/ops_for_converter$/ }, () => ({ path: "tfjs-ops-for-converter", namespace: "virtual" }));
    build.onLoad({ filter: /.*/, namespace: "virtual" }, (a) => ({ contents: virtual[a.path], resolveDir: dirs.core, loader: "js" }));
  } };
  const result = await esbuild.build({
    entryPoints: ["tfjs-page-entry"], bundle: true, minify: true, format: "esm", platform: "browser", write: false,
    // Emscripten's Node.js branch imports these; vendor.mjs maps them to a stub.
    external: ["fs", "path", "os", "worker_threads", "perf_hooks", "crypto"],
    legalComments: "none", logLevel: "silent", plugins: [plugin],
  });
  if (result.warnings.length) throw new Error(`tfjs bundle: ${result.warnings.map((w) => w.text).join("; ")}`);
  return result.outputFiles[0].text;
}
