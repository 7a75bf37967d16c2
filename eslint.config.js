// `make lint` (run by `make test`): ESLint's recommended rules over the page, its tests and the
// scripts, each folder with the globals of where it runs.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "frontend/vendor/", "site/staticfiles/", ".venv/", ".cache/", "runs/", "reports/"] },
  js.configs.recommended,
  // The page's modules run in the window or in its web worker (several in both).
  { files: ["frontend/js/**/*.js"], languageOptions: { globals: { ...globals.browser, ...globals.worker } } },
  { files: ["frontend/sw.js"], languageOptions: { globals: globals.serviceworker } },
  // Node: the tests of the page's modules, the build scripts, the converter's check in TF.js.
  { files: ["frontend/tests/**/*.{js,mjs}", "scripts/**/*.{js,mjs}", "convert/**/*.mjs", "tests/**/*.mjs",
    "eslint.config.js"], languageOptions: { globals: globals.node } },
  // The Firefox smoke test's driver also hands functions to page.evaluate, which run in the page.
  { files: ["tests/e2e/firefox_smoke.mjs"], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
];
