// The static site as a whole: what the service worker caches, what the vendor step produced, and
// the rules a strict Content-Security-Policy imposes on the HTML.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const FRONTEND = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const read = (file) => readFileSync(path.join(FRONTEND, file), "utf8");

function appFiles() {
  const list = read("sw.js").match(/const APP_FILES = (\[[\s\S]*?\]);/)[1];
  return JSON.parse(list.replace(/,\s*\]$/, "]"));
}

// The files under one folder of the page (js/ has a folder per thread and role), as APP_FILES names them.
const pageFiles = (dir) => readdirSync(path.join(FRONTEND, dir), { recursive: true })
  .map((name) => `${dir}/${name.split(path.sep).join("/")}`)
  .filter((file) => statSync(path.join(FRONTEND, file)).isFile());

describe("every script", () => {
  it("parses (the browser-only ones too: worker, UI, service worker)", () => {
    const scripts = [...pageFiles("js"), "sw.js"];
    for (const script of scripts) {
      const checked = spawnSync(process.execPath, ["--check", path.join(FRONTEND, script)], { encoding: "utf8" });
      assert.equal(checked.status, 0, `${script}: ${checked.stderr}`);
    }
  });
});

describe("service worker", () => {
  it("precaches every module and stylesheet of the page, and only files that exist", () => {
    const files = appFiles();
    for (const file of [...pageFiles("js"), ...pageFiles("css")]) assert.ok(files.includes(file), `${file} is not in APP_FILES`);
    for (const file of files.filter((f) => f !== "./" && !f.startsWith("vendor/"))) {
      assert.ok(existsSync(path.join(FRONTEND, file)), `APP_FILES names ${file}, which does not exist`);
    }
  });
  it("precaches the vendored files the page imports on its usual path", { skip: !existsSync(path.join(FRONTEND, "vendor")) && "frontend/vendor/ not built (make install)" }, () => {
    for (const file of appFiles().filter((f) => f.startsWith("vendor/"))) {
      assert.ok(existsSync(path.join(FRONTEND, file)), `${file} missing: rerun node scripts/vendor.mjs`);
    }
  });
});

describe("vendored bundles", { skip: !existsSync(path.join(FRONTEND, "vendor")) && "frontend/vendor/ not built (make install)" }, () => {
  const modules = () => readdirSync(path.join(FRONTEND, "vendor")).filter((f) => f.endsWith(".js"));
  it("import only relative files that exist (no import map needed)", () => {
    for (const file of modules()) {
      for (const [, specifier] of read(`vendor/${file}`).matchAll(/\b(?:from|import)\s*["']([^"'\s]+)["']/g)) {
        assert.ok(specifier.startsWith("./"), `${file} imports bare "${specifier}"`);
        assert.ok(existsSync(path.join(FRONTEND, "vendor", specifier)), `${file} imports missing ${specifier}`);
      }
    }
  });
  it("name no source maps (Django's manifest storage would look for them)", () => {
    for (const file of modules()) assert.ok(!read(`vendor/${file}`).includes("sourceMappingURL"), file);
  });
  // The names an ES module exports ({a as b} -> b) or imports from `from` ({a as b} -> a).
  const names = (list, side) => list.split(",").map((item) => item.trim().split(/\s+as\s+/)[side === "export" ? 1 : 0] ?? item.trim());
  it("export from tfjs.js every core name the fallback backends import from it", () => {
    const exported = new Set(names(read("vendor/tfjs.js").match(/export\s*\{([^}]*)\}\s*;?\s*$/)[1], "export"));
    for (const file of ["vendor/tfjs-backend-webgl.js", "vendor/tfjs-backend-cpu.js"]) {
      const imports = [...read(file).matchAll(/import\s*\{([^}]*)\}\s*from\s*"\.\/tfjs\.js"/g)];
      assert.ok(imports.length > 0, `${file} no longer imports core from ./tfjs.js`);
      const missing = imports.flatMap(([, list]) => names(list, "import")).filter((name) => !exported.has(name));
      assert.deepEqual(missing, [], `${file} imports names tfjs.js does not export: rerun node scripts/vendor.mjs`);
    }
  });
});

describe("the worker's TF.js (scripts/tfjs-bundle.mjs)", () => {
  it("holds every op the shipped model's graph runs", async () => {
    const { MODEL_OPS } = await import("../../scripts/tfjs-bundle.mjs");
    const model = JSON.parse(read("model/model.json"));
    const ops = new Set(model.modelTopology.node.map((node) => node.op));
    const missing = [...ops].filter((op) => !(op in MODEL_OPS));
    assert.deepEqual(missing, [], "add these ops to MODEL_OPS in scripts/tfjs-bundle.mjs, with the kernels they dispatch");
  });
});

describe("index.html under a strict CSP", () => {
  const html = read("index.html");
  it("has no inline script, style or event handler", () => {
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), "inline <script>");
    assert.ok(!/<style/i.test(html), "<style> element");
    assert.ok(!/\sstyle=/i.test(html), "style attribute");
    assert.ok(!/\son[a-z]+=/i.test(html), "inline event handler");
  });
  it("uses only relative URLs, so any static host or sub-path serves it", () => {
    for (const [, url] of html.matchAll(/\b(?:src|href)="([^"]+)"/g)) {
      assert.ok(!/^(?:[a-z]+:)?\/\//i.test(url) && !url.startsWith("/"), `absolute URL ${url}`);
    }
  });
  it("labels every form control", () => {
    for (const [, id] of html.matchAll(/<(?:input|select)[^>]*\bid="([^"]+)"(?![^>]*hidden)[^>]*>/g)) {
      assert.ok(html.includes(`for="${id}"`), `#${id} has no <label for>`);
    }
  });
});

describe("colours (WCAG AA)", () => {
  const css = read("css/app.css");
  const variables = (block) => Object.fromEntries([...block.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/gi)].map(([, k, v]) => [k, v]));
  const light = variables(css.match(/:root\s*{([^}]*)}/)[1]);
  const dark = { ...light, ...variables(css.match(/prefers-color-scheme: dark\)\s*{\s*:root\s*{([^}]*)}/)[1]) };
  const luminance = (hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // [text, background] pairs the stylesheet uses.
  const PAIRS = [["text", "bg"], ["text", "surface"], ["muted", "bg"], ["muted", "surface"], ["accent", "surface"],
    ["accent-text", "accent"], ["tumour", "surface"], ["clear", "surface"], ["warn-text", "warn-bg"], ["error", "surface"]];
  for (const [scheme, colours] of [["light", light], ["dark", dark]]) {
    it(`gives text at least 4.5:1 contrast in the ${scheme} scheme`, () => {
      for (const [fg, bg] of PAIRS) {
        const ratio = contrast(colours[fg], colours[bg]);
        assert.ok(ratio >= 4.5, `${scheme}: --${fg} on --${bg} is ${ratio.toFixed(2)}:1`);
      }
    });
  }
});
