"""The page's figures in headless Chromium: time to ready, ms per image per backend, bytes
transferred, tensors after 100 classifications. Writes reports/bench-page.md.

    python -m bench.page_bench [--model DIR] [--images N] [--report reports/bench-page.md]

It serves frontend/ itself (bench/static_server.py: the site's CSP, COOP and COEP headers, no
compression) with the shipped model, or the model folder given by --model. Targets (issue "The
page"): wasm p50 <= 10 ms per image (goal 5), ready <= 1 s after navigation, transfer <= 3 MB,
tf.memory().numTensors unchanged after 100 classifications.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
from playwright.async_api import Error as PlaywrightError

from bench.browser import chromium, classify_bytes, explain_bytes, open_page, transferred_bytes
from bench.machine import machine
from bench.static_server import gzip_bytes, make_server, serve_in_thread
from testbed.browser import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data" / "brain-mri-4class"
BACKENDS = ("wasm", "webgl", "cpu")
TARGETS = {"wasm_p50_ms": 10.0, "ready_ms": 1000.0, "transfer_bytes": 3_000_000}


def sample_images(count: int) -> tuple[list[tuple[str, bytes]], str]:
    """Real MRI slices when ../shared/data is there, else generated brain-like images."""
    if DATA.is_dir():
        files = sorted(p for folder in sorted(DATA.iterdir()) if folder.is_dir()
                       for p in sorted(folder.iterdir())[:count])
        files = files[:: max(1, len(files) // count)][:count]
        return [(p.name, p.read_bytes()) for p in files], f"{len(files)} real slices from {DATA.name}"
    from PIL import Image

    rng = np.random.default_rng(0)
    images = []
    for i in range(count):
        yy, xx = np.mgrid[:256, :256] / 256
        pixels = ((xx - 0.5) ** 2 / 0.16 + (yy - 0.5) ** 2 / 0.2 < 1) * 90.0 + rng.normal(0, 12, (256, 256))
        out = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "PNG")
        images.append((f"generated_{i}.png", out.getvalue()))
    return images, f"{count} generated 256 px PNGs (../shared/data absent)"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def ready_ms(page) -> float:
    return await page.evaluate("performance.getEntriesByName('classifier-ready')[0].startTime")


async def measure_backend(browser, base: str, backend: str, images, runs: int, threads: str = "auto") -> dict:
    query = f"?backend={backend}" + (f"&threads={threads}" if threads != "auto" else "")
    context, page, info, requests = await open_page(browser, base + query)
    try:
        row = {"backend": info["backend"], "detail": info, "ready_ms": await ready_ms(page),
               "page_bytes": await transferred_bytes(requests)}
        if info["backend"] != backend:
            row["note"] = f"asked for {backend}, got {info['backend']}"
        # The page saves its offline copy (several MB) once the model is ready; the steady-state
        # figures are timed after it, not while it downloads beside them.
        await page.evaluate("navigator.serviceWorker.ready")
        before = await page.evaluate("window.classifier.memory()")
        results = [await classify_bytes(page, *images[i % len(images)]) for i in range(runs)]
        after = await page.evaluate("window.classifier.memory()")
        failed = [r["error"] for r in results if "error" in r]
        if failed:
            raise RuntimeError(f"{backend}: {len(failed)} images failed, e.g. {failed[0]}")
        explain_ms = [(await explain_bytes(page, name, data))["ms"] for name, data in images[:3]]
        after_explain = await page.evaluate("window.classifier.memory()")
        row.update({
            "runs": runs,
            "total_p50": percentile([r["ms"] for r in results], 50),
            "total_p90": percentile([r["ms"] for r in results], 90),
            "inference_p50": percentile([r["timings"]["inference"] for r in results], 50),
            "decode_p50": percentile([r["timings"]["decode"] for r in results], 50),
            "round_trip_p50": percentile([r["roundTripMs"] for r in results], 50),
            "tensors_before": before["numTensors"],
            "tensors_after": after["numTensors"],
            "tensors_after_explain": after_explain["numTensors"],
            "explain_ms_p50": percentile(explain_ms, 50),
        })
        return row
    finally:
        await context.close()


async def wait_ready(page, tries: int = 3) -> None:
    """window.classifier.ready after a reload; a navigation still settling drops the promise
    ("Resulting promise was garbage collected"), so ask again."""
    for attempt in range(tries):
        try:
            await page.wait_for_load_state("load")
            await page.evaluate("window.classifier.ready")
            return
        except PlaywrightError:
            if attempt == tries - 1:
                raise
            await page.wait_for_timeout(200)


async def measure_loads(browser, base: str, server, repeats: int) -> dict:
    """Cold first visits (fresh context each) and a warm reload (service worker and caches)."""
    cold, page_bytes = [], []
    for _ in range(repeats):
        context, page, _, requests = await open_page(browser, base)
        cold.append(await ready_ms(page))
        page_bytes.append(await transferred_bytes(requests))
        await context.close()
    # One more first visit, counted at the server until the service worker has cached the app
    # and the model: everything a first visit costs.
    sent_before, responses_before = server.bytes_sent, len(server.sent)
    context, page, info, _ = await open_page(browser, base)
    await page.evaluate("""async () => {
      await navigator.serviceWorker.ready;
      for (let i = 0; i < 100; i += 1) {
        const cached = await caches.open('model').then((c) => c.keys());
        if (cached.some((r) => r.url.includes('.bin'))) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }""")
    first_visit_total = server.bytes_sent - sent_before
    first_visit_gzip = gzip_bytes(server, responses_before)
    warm = []
    for _ in range(repeats):
        sent = server.bytes_sent
        await page.reload()
        await wait_ready(page)
        warm.append((await ready_ms(page), server.bytes_sent - sent))
    await context.close()
    return {"cold_ready_ms": cold, "page_bytes": page_bytes, "first_visit_total_bytes": first_visit_total,
            "first_visit_gzip_bytes": first_visit_gzip,
            "warm_ready_ms": [w[0] for w in warm], "warm_bytes": [w[1] for w in warm], "version": info["version"]}


def environment() -> dict:
    chromium_version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    host = machine()
    return {"chromium": chromium_version, "cpus": host["cores"], "machine": host["cpu"], "load": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def model_summary(model_dir: Path) -> dict:
    metadata = json.loads((model_dir / "metadata.json").read_text())
    files = [p for p in model_dir.iterdir() if p.name == "model.json" or p.suffix == ".bin"]
    return {"dir": str(model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir),
            "architecture": metadata.get("architecture"), "bytes": sum(p.stat().st_size for p in files),
            "note": (metadata.get("training") or {}).get("note")}


def render(env: dict, model: dict, images: str, loads: dict, rows: list[dict], command: str) -> str:
    wasm = next((r for r in rows if r["backend"] == "wasm"), None)
    ready = statistics.median(loads["cold_ready_ms"])
    total, gz = loads["first_visit_total_bytes"], loads.get("first_visit_gzip_bytes")

    def verdict(ok):
        return "met" if ok else "**missed**"

    lines = [
        "# The page in headless Chromium",
        "",
        f"`{command}` on {env['date']}: {env['chromium']}, {env['cpus']} CPUs ({env['machine']}), load average "
        f"{env['load'][0]:.1f} / {env['load'][1]:.1f} / {env['load'][2]:.1f} at the start (other jobs share "
        "these cores; figures are medians to damp that).",
        f"Model: `{model['dir']}` ({model['architecture']}, {model['bytes'] / 1024:.0f} KiB of model.json + weights"
        + (f"; {model['note']}" if model["note"] else "") + f"), version `{loads['version']}`. Images: {images}.",
        "Server: bench/static_server.py with the site's CSP, COOP and COEP headers, no compression; the gzip figure "
        "counts, for each file the first visit fetched, the .gz copy whitenoise sends (`make static`'s).",
        "",
        "## Targets",
        "",
        "| figure | target | measured | |",
        "| --- | --- | --- | --- |",
    ]
    if wasm:
        lines.append(f"| wasm, ms per image, p50 (decode + preprocess + model) | <= "
                     f"{TARGETS['wasm_p50_ms']:.0f} (goal 5) | "
                     f"{wasm['total_p50']:.1f} | {verdict(wasm['total_p50'] <= TARGETS['wasm_p50_ms'])} |")
        lines.append(f"| wasm, model only, p50 | | {wasm['inference_p50']:.2f} | |")
    lines += [
        f"| navigation to ready (model loaded and warmed up), first visit, median of {len(loads['cold_ready_ms'])} | "
        f"<= {TARGETS['ready_ms']:.0f} ms | {ready:.0f} ms (fastest {min(loads['cold_ready_ms']):.0f}) | "
        f"{verdict(ready <= TARGETS['ready_ms'])} |",
        f"| navigation to ready, reload (service worker cache), median | | "
        f"{statistics.median(loads['warm_ready_ms']):.0f} ms | |",
        f"| bytes transferred by a first visit until ready (page and worker requests), median | <= 3 MB | "
        f"{statistics.median(loads['page_bytes']) / 1e6:.2f} MB | "
        f"{verdict(statistics.median(loads['page_bytes']) <= TARGETS['transfer_bytes'])} |",
        "| bytes sent for a whole first visit, including the service worker's offline copy, gzip as the Django "
        "site sends them | <= 3 MB | " + ("n/a (no `make static` copy) |" if gz is None else
                                           f"{gz / 1e6:.2f} MB | {verdict(gz <= TARGETS['transfer_bytes'])}") + " |",
        f"| the same from a plain static host, uncompressed | | {total / 1e6:.2f} MB | |",
        f"| bytes sent for a reload (service worker revalidating its copy), median | | "
        f"{statistics.median(loads['warm_bytes']) / 1e6:.2f} MB | |",
    ]
    if wasm:
        leak_free = all(r["tensors_after"] == r["tensors_before"] and r["tensors_after_explain"] == r["tensors_before"]
                        for r in rows)
        counts = ", ".join(f"{r['backend']} {r['tensors_before']} -> {r['tensors_after']} -> "
                           f"{r['tensors_after_explain']}" for r in rows)
        lines.append(f"| tf.memory().numTensors before -> after {wasm['runs']} classifications -> after 3 "
                     f"explanations | unchanged | {counts} | {verdict(leak_free)} |")
    lines += [
        "",
        "## Per backend",
        "",
        "Each backend forced with `?backend=`, in a fresh context; ms measured in the worker (`result.ms`, what "
        "the page shows), except the round trip, measured by the page around `window.classifier.classify`.",
        "",
        "| backend | runs on | ready (ms) | ms/image p50 | p90 | model only p50 | decode p50 | round trip p50 | "
        "explanation (225 passes) p50 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        detail = r["detail"]
        runs_on = (f"SIMD {'yes' if detail.get('simd') else 'no'}, {detail.get('threads')} thread(s)"
                   if r["backend"] == "wasm" else
                   "software WebGL (no GPU here)" if r["backend"] == "webgl" else "JavaScript")
        lines.append(f"| {r['backend']} | {runs_on} | {r['ready_ms']:.0f} | {r['total_p50']:.1f} | "
                     f"{r['total_p90']:.1f} | {r['inference_p50']:.2f} | {r['decode_p50']:.2f} | "
                     f"{r['round_trip_p50']:.1f} | {r['explain_ms_p50']:.0f} ms |")
    lines += [
        "",
        "Notes:",
        "- wasm threads: TF.js gives its thread pool half the cores, so below 4 cores the pool is one thread; the page "
        "then keeps wasm single-threaded (threads would only add start-up time). `--threads N` (`?threads=N`) asks "
        "for N.",
        "- webgl here is SwiftShader (software); on a real GPU it is the fast path for large models, not for this one.",
        f"- raw figures: cold ready ms {', '.join(f'{v:.0f}' for v in loads['cold_ready_ms'])}; warm ready ms "
        f"{', '.join(f'{v:.0f}' for v in loads['warm_ready_ms'])}.",
        "",
    ]
    return "\n".join(lines)


async def measure(images, runs: int, loads: int, backends=BACKENDS, model_dir: Path | None = None,
                  threads: str = "auto") -> dict:
    """The page served with `model_dir` (default frontend/model/): its loads, and each backend's
    figures on `images` (the cpu backend at most 100 runs: it is slow)."""
    server = make_server(0, model_dir)
    base = serve_in_thread(server)
    try:
        async with chromium() as browser:
            load_figures = await measure_loads(browser, base, server, loads)
            rows = [await measure_backend(browser, base, backend, images, runs if backend != "cpu" else min(runs, 100),
                                          threads)
                    for backend in backends]
    finally:
        server.shutdown()
    return {"loads": load_figures, "backends": rows}


async def run(args) -> str:
    model_dir = (args.model or ROOT / "frontend" / "model").resolve()
    if not (model_dir / "model.json").is_file():
        raise SystemExit(f"{model_dir}/model.json is missing: convert a model first (python -m convert --help).")
    images, description = sample_images(args.images)
    env = environment()
    figures = await measure(images, args.runs, args.loads, args.backends, None if args.model is None else model_dir,
                            args.threads)
    command = ("python -m bench.page_bench" + (f" --model {args.model}" if args.model else "")
               + (f" --threads {args.threads}" if args.threads != "auto" else ""))
    return render(env, model_summary(model_dir), description, figures["loads"], figures["backends"], command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model folder to serve at /model/ (default: frontend/model/)")
    parser.add_argument("--images", type=int, default=20, help="distinct images to cycle through (default 20)")
    parser.add_argument("--runs", type=int, default=100, help="classifications per backend (default 100)")
    parser.add_argument("--loads", type=int, default=5, help="cold and warm page loads to time (default 5)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS), help="backends to measure")
    parser.add_argument("--threads", default="auto", choices=["auto", *map(str, range(9))],
                        help="the page's ?threads=: wasm threads (auto; 0 none; 1 TF.js's own pool; 2-8 that many)")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "bench-page.md",
                        help="where to write the report")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
