// TF.js backends for the worker: wasm first (SIMD, threads where they help), then webgl, then cpu.
import * as tf from "../../vendor/tfjs.js";

const VENDOR_DIR = new URL("../../vendor/", import.meta.url);

// Preferred first. Each loader returns the backend's module, which registers it with TF.js on
// import: wasm is part of vendor/tfjs.js; the fallbacks are only downloaded when needed.
const BACKENDS = {
  wasm: async () => {
    tf.setWasmPaths(VENDOR_DIR.href);
    return tf;
  },
  webgl: () => import("../../vendor/tfjs-backend-webgl.js"),
  cpu: () => import("../../vendor/tfjs-backend-cpu.js"),
};

// Wasm threads need cross-origin isolation (SharedArrayBuffer). TF.js gives its pool half the
// cores, so below 4 cores the pool is one thread, which only adds start-up time. "1" forces
// threads, "0" forbids them, "2"-"8" asks for that many (for benchmarks, see poolOf).
const POOL_SIZE = /^[2-8]$/;
function wantThreads(threads) {
  if (threads === "0" || threads === false) return false;
  if (threads === "1" || threads === true || POOL_SIZE.test(String(threads))) return true;
  return self.crossOriginIsolated === true && navigator.hardwareConcurrency >= 4;
}

// TF.js caps setThreadsCount at half of navigator.hardwareConcurrency, read once as the wasm
// module starts (tfjs issue 8513), so a pool as large as the cores needs the count doubled then.
function poolOf(module, count) {
  const cores = navigator.hardwareConcurrency;
  Object.defineProperty(Object.getPrototypeOf(navigator), "hardwareConcurrency", { get: () => 2 * cores, configurable: true });
  module.setThreadsCount(count);
}

export async function startBackend(requested, threads) {
  const order = requested && requested !== "auto" ? [requested] : Object.keys(BACKENDS);
  const failures = [];
  for (const name of order) {
    if (!BACKENDS[name]) throw new Error(`Unknown backend "${name}"; choose one of ${Object.keys(BACKENDS).join(", ")}.`);
    try {
      const module = await BACKENDS[name]();
      if (name === "wasm" && !wantThreads(threads)) tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      if (name === "wasm" && POOL_SIZE.test(String(threads))) poolOf(module, Number(threads));
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, module };
      }
      failures.push(`${name}: could not start`);
    } catch (err) {
      failures.push(`${name}: ${err.message}`);
    }
  }
  throw new Error(`No TF.js backend could start in this browser (${failures.join("; ")}).`);
}

export async function backendDetails({ name, module }) {
  if (name !== "wasm") return { backend: name };
  return {
    backend: name,
    simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
    threads: module.getThreadsCount(),
  };
}

