"""The page beside the API: real slices classified in headless Chromium (`window.classifier.classify`)
and through POST /api/predict on the same server, as PNG and as JPEG, and how far the answers differ."""
from __future__ import annotations

import base64
import http.client
import importlib.util
import io
from pathlib import Path

import numpy as np
from PIL import Image

from bench.api_load import DATA_DIR, REQUEST_TIMEOUT_S, api_probabilities, png
from testbed.browser import chromium_missing, launch

PAGE_TIMEOUT_MS = 120_000

CLASSIFY_IN_PAGE = """async (items) => {
  const answers = [];
  for (const {name, type, b64} of items) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const result = await window.classifier.classify(new File([bytes], name, {type}));
    answers.push(result.probabilities);
  }
  return answers;
}"""


def agreement_samples(count: int) -> list[tuple[str, str, bytes]]:
    """(kind, name, bytes): `count` real slices, each as its file (JPEG) and as a lossless PNG of
    Pillow's decoding of it, so the PNG figure measures preprocessing alone."""
    root = DATA_DIR / "brain-mri-4class"
    if not root.is_dir():
        return []
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    step = max(len(paths) // max(count, 1), 1)
    samples = []
    for path in paths[::step][:count]:
        data = path.read_bytes()
        if data.startswith(b"\xff\xd8\xff"):  # some .jpg files are PNGs: file extensions lie
            samples.append(("JPEG", path.name, data))
        samples.append(("PNG", path.stem + ".png", png(Image.open(io.BytesIO(data)))))
    return samples


def serves_tfjs_model(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("HEAD", "/model/model.json")
        return conn.getresponse().status == 200
    finally:
        conn.close()


def classify_in_page(port: int, samples: list[tuple[str, str, bytes]]) -> tuple[dict, bool, list[dict], list[str]]:
    """The page's answers on the samples: (ready info, cross-origin isolated, probabilities, console problems)."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
            page.add_init_script("document.addEventListener('securitypolicyviolation', (e) => "
                                 "console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`))")
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            info = page.evaluate("window.classifier.ready")
            isolated = page.evaluate("crossOriginIsolated")
            items = [{"name": name, "type": f"image/{kind.lower()}",
                      "b64": base64.b64encode(data).decode()} for kind, name, data in samples]
            in_page = []
            for start in range(0, len(items), 16):
                in_page += page.evaluate(CLASSIFY_IN_PAGE, items[start:start + 16])
        finally:
            browser.close()
    return info, isolated, in_page, problems


def page_vs_api(port: int, count: int) -> dict:
    """The page's answers (headless Chromium) beside the API's for the same bytes."""
    if missing := chromium_missing():
        return {"skipped": missing}
    if importlib.util.find_spec("playwright") is None:
        return {"skipped": "Playwright is not installed (make install)"}
    samples = agreement_samples(count)
    if not samples:
        return {"skipped": f"no real data at {DATA_DIR}"}
    if not serves_tfjs_model(port):
        return {"skipped": "the served frontend has no TF.js model (model/model.json): convert it first"}
    api = [api_probabilities(port, data, name) for _, name, data in samples]
    info, isolated, in_page, problems = classify_in_page(port, samples)
    result = {"backend": info.get("backend"), "simd": info.get("simd"), "threads": info.get("threads"),
              "isolated": isolated, "problems": problems[:10]}
    for kind in ("PNG", "JPEG"):
        pairs = [(a, b) for (k, _, _), a, b in zip(samples, api, in_page) if k == kind]
        if not pairs:
            continue
        labels = list(pairs[0][0])
        diffs = np.array([[abs(a[label] - b[label]) for label in labels] for a, b in pairs])
        same_top1 = sum(max(a, key=a.get) == max(b, key=b.get) for a, b in pairs)
        result[kind] = {"n": len(pairs), "same_top1": same_top1, "max_diff": float(diffs.max()),
                        "mean_diff": float(diffs.mean())}
    # The page's answer on a JPEG beside its answer on Pillow's lossless PNG of that JPEG: zero
    # means the browser decoded the JPEG to exactly Pillow's pixels.
    by_image: dict[str, dict] = {}
    for (kind, name, _), answer in zip(samples, in_page):
        by_image.setdefault(Path(name).stem, {})[kind] = answer
    decoder_diffs = [abs(pair["JPEG"][label] - pair["PNG"][label])
                     for pair in by_image.values() if len(pair) == 2 for label in pair["PNG"]]
    result["jpeg_decoder_max_diff"] = max(decoder_diffs, default=float("nan"))
    return result
