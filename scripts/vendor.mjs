#!/usr/bin/env node
// Builds frontend/vendor/: the browser code the page runs, copied from node_modules so that the
// page loads nothing from another origin and works from any static host.
//
// The page imports TF.js as ES modules: the worker one bundle of core, converter and wasm backend
// with only the model's ops (scripts/tfjs-bundle.mjs), the fallback backends their npm bundles.
// Those import core by a bare specifier ("@tensorflow/tfjs-core") and Emscripten's output imports
// Node-only modules ("fs", "path", ...). A browser resolves bare specifiers only through an import map, and an inline
// import map is an inline script that a strict Content-Security-Policy (script-src 'self')
// blocks. So each bundle is copied with its bare specifiers rewritten to the relative files
// beside it: no import map, no bundler, and the same files work under CSP and without.
//
// Wasm threads: Emscripten starts each pthread as a blob: worker that loads the backend's glue
// code with importScripts(). TF.js hands it that code as another blob: URL, which script-src
// 'self' forbids; the glue is shipped as a file beside the bundle and the bundle is pointed at it.
//
// sourceMappingURL comments are stripped: the rewritten files no longer match their maps, and
// Django's manifest storage fails on a comment naming a .map file that is not shipped.
//
// Usage: node scripts/vendor.mjs [--check]   (--check: verify frontend/vendor/ is up to date)
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildTfjsBundle } from "./tfjs-bundle.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const VENDOR = path.join(ROOT, "frontend", "vendor");
const require = createRequire(path.join(ROOT, "package.json"));

// [package, file inside the package, name in vendor/]
const ES_MODULES = [
  ["@tensorflow/tfjs-backend-webgl", "dist/tf-backend-webgl.fesm.min.js", "tfjs-backend-webgl.js"],
  ["@tensorflow/tfjs-backend-cpu", "dist/tf-backend-cpu.fesm.min.js", "tfjs-backend-cpu.js"],
  // nifti-reader-js: its entry renamed; its own modules import each other by these file names.
  ["nifti-reader-js", "dist/nifti.js", "nifti-reader.js"],
  ["nifti-reader-js", "dist/nifti1.js", "nifti1.js"],
  ["nifti-reader-js", "dist/nifti2.js", "nifti2.js"],
  ["nifti-reader-js", "dist/utilities.js", "utilities.js"],
  ["nifti-reader-js", "dist/nifti-extension.js", "nifti-extension.js"],
];
// ES modules that import nothing, copied without their whole-line comments (one of which reads
// like an import and would fool IMPORT_FROM and the site test's check).
const STANDALONE_MODULES = [
  // JPEG Lossless (DICOM 1.2.840.10008.1.2.4.57/.70), plain JavaScript.
  ["jpeg-lossless-decoder-js", "release/lossless.js", "jpeg-lossless.js"],
];
// The wasm backend fetches whichever binary the browser supports (plain, SIMD, threaded SIMD).
const BINARIES = [
  ["@tensorflow/tfjs-backend-wasm", "dist/tfjs-backend-wasm.wasm"],
  ["@tensorflow/tfjs-backend-wasm", "dist/tfjs-backend-wasm-simd.wasm"],
  ["@tensorflow/tfjs-backend-wasm", "dist/tfjs-backend-wasm-threaded-simd.wasm"],
  // DICOM JPEG-LS and JPEG 2000 decoders (frontend/js/worker/codecs.js), decode-only builds.
  ["@cornerstonejs/codec-charls", "dist/charlswasm_decode.wasm"],
  ["@cornerstonejs/codec-openjpeg", "dist/openjpegwasm_decode.wasm"],
];
// UMD builds, wrapped by umdModule: [package, file, name in vendor/]. The decoders' Emscripten glue,
// and NiiVue (js/ui/viewer.js imports it only when a viewer opens): its UMD build is self-contained
// and minified, where its ESM builds import bare specifiers or are a third larger.
const UMD_MODULES = [
  ["@cornerstonejs/codec-charls", "dist/charlswasm_decode.js", "charls-decode.js"],
  ["@cornerstonejs/codec-openjpeg", "dist/openjpegwasm_decode.js", "openjpeg-decode.js"],
  ["@niivue/niivue", "dist/niivue.umd.js", "niivue.js"],
];
// The worker's TF.js (scripts/tfjs-bundle.mjs), built from these packages.
const TFJS_BUNDLE = "tfjs.js";
const TFJS_PACKAGES = ["@tensorflow/tfjs-core", "@tensorflow/tfjs-converter", "@tensorflow/tfjs-backend-wasm"];
const FALLBACK_BACKENDS = ES_MODULES.filter(([pkg]) => pkg.startsWith("@tensorflow/tfjs-backend-"));
const NODE_BUILTINS_STUB = "node-builtins.js";
// nifti-reader-js imports fflate to gunzip; the page inflates with the browser's own
// DecompressionStream (streamed, with a size limit) before the reader sees the bytes.
const GUNZIP_STUB = "fflate-unused.js";
// Every bare specifier the bundles use, and the vendored file that answers it. A specifier not
// listed here fails the build: a silently unresolved import would only fail in the browser.
const SPECIFIERS = {
  "@tensorflow/tfjs-core": `./${TFJS_BUNDLE}`,
  seedrandom: "./seedrandom.js",
  fflate: `./${GUNZIP_STUB}`,
  // Emscripten's Node.js branch only; never executed in a browser, but imported statically.
  fs: `./${NODE_BUILTINS_STUB}`,
  os: `./${NODE_BUILTINS_STUB}`,
  path: `./${NODE_BUILTINS_STUB}`,
  perf_hooks: `./${NODE_BUILTINS_STUB}`,
};

const THREADED_GLUE = "tfjs-backend-wasm-threaded-simd.js";
const THREADED_GLUE_BLOB = /new Blob\(\["var WasmBackendModuleThreadedSimd = "\+[\w$]+\.toString\(\)\],\{type:"text\/javascript"\}\)/g;

const SOURCE_MAP_COMMENT = /\n?\/\/# sourceMappingURL=\S+\s*$/;
const IMPORT_FROM = /(\bfrom\s*|\bimport\s*)(["'])([^"'./][^"']*)\2/g;

// A package's folder; packages whose "exports" hide package.json are found where npm puts them.
function packageDir(pkg) {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch (err) {
    if (err.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw err;
    return path.join(ROOT, "node_modules", pkg);
  }
}

function packageFile(pkg, file) {
  return path.join(packageDir(pkg), file);
}

function packageVersion(pkg) {
  return require(path.join(packageDir(pkg), "package.json")).version;
}

function rewriteBareSpecifiers(code, origin) {
  return code.replace(IMPORT_FROM, (match, keyword, quote, specifier) => {
    const target = SPECIFIERS[specifier];
    if (!target) {
      throw new Error(`${origin} imports "${specifier}", which scripts/vendor.mjs does not map; ` +
        "add it to SPECIFIERS (and vendor the module it names).");
    }
    return `${keyword}${quote}${target}${quote}`;
  });
}

function pointThreadsAtGlueFile(code, origin) {
  const matches = code.match(THREADED_GLUE_BLOB) ?? [];
  if (matches.length !== 1) {
    throw new Error(`${origin}: expected one blob of the threaded wasm glue code, found ${matches.length}; ` +
      "the bundle changed, so update THREADED_GLUE_BLOB in scripts/vendor.mjs.");
  }
  return code.replace(THREADED_GLUE_BLOB, `new URL("./${THREADED_GLUE}",import.meta.url).href`);
}

function stripSourceMap(code) {
  return code.replace(SOURCE_MAP_COMMENT, "\n");
}

// seedrandom ships CommonJS/UMD; the cpu backend only uses its Alea generator. lib/alea.js
// assigns to `module.exports` when a `module` object is in scope, so a local one captures it.
async function seedrandomModule() {
  const source = await readFile(packageFile("seedrandom", "lib/alea.js"), "utf8");
  return `// seedrandom ${packageVersion("seedrandom")} lib/alea.js (MIT) as an ES module; generated by scripts/vendor.mjs.\n` +
    "const module = { exports: {} };\n" +
    `${stripSourceMap(source)}\n` +
    "export const alea = module.exports;\n";
}

// dicom-parser ships UMD only. Run as a module, its wrapper finds no `exports` or `define` and
// assigns `this.dicomParser`; calling it with a local object as `this` captures the library.
async function dicomParserModule() {
  const source = await readFile(packageFile("dicom-parser", "dist/dicomParser.min.js"), "utf8");
  return `// dicom-parser ${packageVersion("dicom-parser")} (MIT) as an ES module; generated by scripts/vendor.mjs.\n` +
    "const umd = {};\n" +
    `(function () {\n${stripSourceMap(source)}\n}).call(umd);\n` +
    "export default umd.dicomParser;\n";
}

// A UMD build as an ES module exporting what it exports (an Emscripten factory, NiiVue's namespace).
// `module`/`exports` are locals the UMD wrapper assigns to; `process` is hidden so that under Node
// (the tests) Emscripten's glue does not take its Node branch, which calls require(); codecs.js hands
// it the wasm bytes. No eval or Function(): these builds pass the CSP (script-src 'self' 'wasm-unsafe-eval').
async function umdModule(pkg, file) {
  const source = stripSourceMap(await readFile(packageFile(pkg, file), "utf8"));
  if (/\beval\(|new Function\(/.test(source)) {
    throw new Error(`${pkg}/${file} uses eval or new Function, which the page's CSP forbids; pick another build.`);
  }
  return `// ${pkg} ${packageVersion(pkg)} ${file} (MIT) as an ES module; generated by scripts/vendor.mjs.\n` +
    "const module = { exports: {} };\n" +
    "const process = undefined;\n" +
    `(function (exports, module, define) {\n${source}\n}).call({}, module.exports, module, undefined);\n` +
    "export default module.exports;\n";
}

async function buildFiles() {
  const files = new Map();
  for (const [pkg, file, name] of ES_MODULES) {
    files.set(name, rewriteBareSpecifiers(stripSourceMap(await readFile(packageFile(pkg, file), "utf8")), `${pkg}/${file}`));
  }
  const tfjs = await buildTfjsBundle({ core: packageDir("@tensorflow/tfjs-core"), wasm: packageDir("@tensorflow/tfjs-backend-wasm") },
    FALLBACK_BACKENDS.map(([pkg, file]) => packageFile(pkg, file)));
  files.set(TFJS_BUNDLE, rewriteBareSpecifiers(pointThreadsAtGlueFile(tfjs, TFJS_BUNDLE), TFJS_BUNDLE));
  files.set(THREADED_GLUE, stripSourceMap(await readFile(
    packageFile("@tensorflow/tfjs-backend-wasm", `wasm-out/${THREADED_GLUE}`), "utf8")));
  for (const [pkg, file] of BINARIES) {
    files.set(path.basename(file), await readFile(packageFile(pkg, file)));
  }
  for (const [pkg, file, name] of STANDALONE_MODULES) {
    const code = stripSourceMap(await readFile(packageFile(pkg, file), "utf8")).replace(/^[ \t]*\/\/.*\n/gm, "");
    if (/^\s*import\b/m.test(code)) throw new Error(`${pkg}/${file} now imports other modules; move it to ES_MODULES.`);
    files.set(name, code);
  }
  for (const [pkg, file, name] of UMD_MODULES) files.set(name, await umdModule(pkg, file));
  files.set("seedrandom.js", await seedrandomModule());
  files.set("dicom-parser.js", await dicomParserModule());
  files.set(NODE_BUILTINS_STUB,
    "// Stands in for Node built-ins that Emscripten's output imports for its Node.js branch,\n" +
    "// which never runs in a browser. Generated by scripts/vendor.mjs.\n" +
    "export default {};\n");
  files.set(GUNZIP_STUB,
    "// Stands in for fflate, which nifti-reader-js imports: the page gunzips with DecompressionStream\n" +
    "// before the reader sees the bytes. Generated by scripts/vendor.mjs.\n" +
    "export function decompressSync() {\n" +
    "  throw new Error(\"NIfTI data must be inflated before nifti-reader-js reads it\");\n" +
    "}\n" +
    "export function decompress() {\n" +
    "  throw new Error(\"NIfTI data must be inflated before nifti-reader-js reads it\");\n" +
    "}\n");
  const versions = {};
  for (const pkg of new Set([...ES_MODULES, ...STANDALONE_MODULES, ...BINARIES, ...UMD_MODULES].map(([p]) => p).concat(TFJS_PACKAGES, "esbuild", "seedrandom", "dicom-parser"))) {
    versions[pkg] = packageVersion(pkg);
  }
  const digest = createHash("sha256");
  for (const [name, content] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    digest.update(name).update(content);
  }
  // The service worker names its app cache after this, so new vendored code replaces old.
  files.set("versions.json", `${JSON.stringify({ packages: versions, sha256: digest.digest("hex") }, null, 2)}\n`);
  return files;
}

async function check(files) {
  const stale = [];
  for (const [name, content] of files) {
    const existing = await readFile(path.join(VENDOR, name)).catch(() => null);
    if (!existing || !existing.equals(Buffer.from(content))) stale.push(name);
  }
  if (stale.length) {
    console.error(`frontend/vendor/ is out of date (${stale.join(", ")}); run: node scripts/vendor.mjs`);
    process.exit(1);
  }
  console.log("frontend/vendor/ is up to date.");
}

// Writes only what changed (unchanged files keep their dates, so make's later steps stay done)
// and removes files a previous version vendored; dot files (make's stamp) are left alone.
async function write(files) {
  await mkdir(VENDOR, { recursive: true });
  let total = 0;
  let changed = 0;
  for (const [name, content] of files) {
    const target = path.join(VENDOR, name);
    const existing = await readFile(target).catch(() => null);
    if (!existing || !existing.equals(Buffer.from(content))) {
      await writeFile(target, content);
      changed += 1;
    }
    total += Buffer.byteLength(content);
  }
  for (const name of await readdir(VENDOR)) {
    if (!files.has(name) && !name.startsWith(".")) await rm(path.join(VENDOR, name), { recursive: true, force: true });
  }
  console.log(`frontend/vendor/: ${files.size} files, ${(total / 1e6).toFixed(2)} MB, ${changed} updated ` +
    `(${[...files.keys()].sort().join(", ")})`);
}

const files = await buildFiles();
if (process.argv.includes("--check")) await check(files);
else await write(files);
