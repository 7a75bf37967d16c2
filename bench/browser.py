"""Drive the page in Debian's headless Chromium (never a downloaded browser): shared by the page's
benchmarks (bench/page_bench.py, bench/ood_rule.py)."""
from __future__ import annotations

import base64
import contextlib

from testbed.browser import chromium_missing, launch

# Runs in the page: bytes (base64) -> Blob -> window.classifier.classify, timed from the page.
CLASSIFY = """async ([data, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const file = new File([bytes], name);
  const started = performance.now();
  try {
    const result = await window.classifier.classify(file);
    return { ...result, roundTripMs: performance.now() - started };
  } catch (err) {
    return { error: err.message };
  }
}"""


_EXPLAIN = """async ([data, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const { map, ...rest } = await window.classifier.explain(new File([bytes], name));
  return { ...rest, peak: Math.max(...map) };
}"""


@contextlib.asynccontextmanager
async def chromium():
    """An async Playwright Chromium browser (Debian's binary)."""
    from playwright.async_api import async_playwright

    if missing := chromium_missing():
        raise SystemExit(missing)
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(browser, url: str, *, service_workers: bool = True):
    """A fresh context (empty caches) on `url`; returns (context, page, ready info, requests)."""
    context = await browser.new_context(service_workers="allow" if service_workers else "block")
    page = await context.new_page()
    requests = []
    page.on("requestfinished", lambda request: requests.append(request))
    await page.goto(url)
    info = await page.evaluate("window.classifier.ready.then((info) => ({...info, metadata: undefined}))")
    return context, page, info, requests


async def classify_bytes(page, name: str, data: bytes) -> dict:
    """Classify one file's bytes in the page; the result, or {"error": message}."""
    return await page.evaluate(CLASSIFY, [base64.b64encode(data).decode("ascii"), name])


async def explain_bytes(page, name: str, data: bytes) -> dict:
    """The page's explanation of one file: {label, patch, passes, ms, peak, ...} (map left out)."""
    return await page.evaluate(_EXPLAIN, [base64.b64encode(data).decode("ascii"), name])


async def transferred_bytes(requests) -> int:
    """Body and header bytes of the finished requests (the page's and its workers')."""
    total = 0
    for request in requests:
        sizes = await request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    return total
