// `make lint` (run by `make test`): ESLint's recommended rules over the page, its tests and the
// scripts, each folder with the globals of where it runs.
import js from "@eslint/js";
import globals from "globals";

// What a window and a worker both have.
const sharedGlobals = Object.fromEntries(Object.entries(globals.browser).filter(([name]) => name in globals.worker));

export default [
  { ignores: ["node_modules/", "frontend/vendor/", "site/staticfiles/", ".venv/", ".cache/", "runs/", "reports/"] },
  js.configs.recommended,
  // The page's modules, by thread: the window (ui/), the classifier's web worker (worker/), and
  // shared/, which either may load and so may use only what both have.
  { files: ["frontend/js/ui/**/*.js"], languageOptions: { globals: globals.browser } },
  { files: ["frontend/js/worker/**/*.js"], languageOptions: { globals: globals.worker } },
  { files: ["frontend/js/shared/**/*.js"], languageOptions: { globals: sharedGlobals } },
  { files: ["frontend/sw.js"], languageOptions: { globals: globals.serviceworker } },
  // Node: the tests of the page's modules, the build scripts, the converter's check in TF.js.
  { files: ["frontend/tests/**/*.{js,mjs}", "scripts/**/*.{js,mjs}", "convert/**/*.mjs", "tests/**/*.mjs",
    "eslint.config.js"], languageOptions: { globals: globals.node } },
  // The Firefox smoke test's driver also hands functions to page.evaluate, which run in the page.
  { files: ["tests/e2e/firefox_smoke.mjs"], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
];
