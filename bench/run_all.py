"""`make bench`: the page, native Keras and the API measured in one run, on the same model and the
same images; writes reports/bench.md with the machine and the date.

    python -m bench.run_all [--images 20] [--runs 100] [--api-requests 2000] [--report reports/bench.md]

(a) The page in Debian's headless Chromium (bench/page_bench.py): ms per image per backend, time
    from navigation to ready, bytes transferred.
(b) Native Keras in this process, right after (a): frontend/model/model.h5 on the same images,
    batch 1, decoded and preprocessed by mri.images (the page's Python twin), so the report
    gives the ratio page / native (the goal: <= 1.5x).
(c) POST /api/predict under concurrent clients against gunicorn (bench/api_bench.py), with the
    page-vs-API agreement on real slices.
(d) A whole 240x240x155 BraTS NIfTI volume read and classified in the page (bench/volume_bench.py),
    checked against Keras on the same slices.

Other processes sharing the CPU (a training job, say) are listed in the report: they slow every
figure, the page's and native Keras's alike.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import api_bench, page_bench, volume_bench
from bench.browser import chromium
from bench.machine import busiest, busy_processes, machine
from bench.static_server import make_server, serve_in_thread

MODEL_DIR = ROOT / "frontend" / "model"
RATIO_GOAL = 1.5  # page ms/image over native Keras ms/image (issue "Two commands")
NATIVE_WARMUP = 10  # unmeasured calls first (graph tracing, first allocations)
PREDICT_RUNS = 30  # model.predict is slow per call; fewer runs give its p50 well enough


# ------------------------------------------------------------------------------------- the page

async def measure_page(images, runs: int, loads: int) -> dict:
    """bench/page_bench.py's measurements, kept as figures (its own run() renders them only)."""
    server = make_server(0)
    base = serve_in_thread(server)
    try:
        async with chromium() as browser:
            load_figures = await page_bench.measure_loads(browser, base, server, loads)
            backends = [await page_bench.measure_backend(browser, base, backend, images,
                                                         runs if backend != "cpu" else min(runs, 100))
                        for backend in page_bench.BACKENDS]
    finally:
        server.shutdown()
    return {"loads": load_figures, "backends": backends}


# ---------------------------------------------------------------------------------- native Keras

def measure_native(images, runs: int) -> dict:
    """model.h5 in TensorFlow, batch 1, on the page's images: decode + preprocess
    (mri.images.load_model_input) and the model, timed apart, three ways of calling it."""
    import tensorflow as tf

    from mri.images import load_model_input
    from mri.layers import load_model

    metadata = json.loads((MODEL_DIR / "metadata.json").read_text())
    h, w, c = (metadata["input"][k] for k in ("height", "width", "channels"))
    model = load_model(str(MODEL_DIR / "model.h5"))
    # As the API serves it (site/mri_site/classifier.py): one traced graph, fixed signature.
    compiled = tf.function(lambda x: model(x, training=False),
                           input_signature=[tf.TensorSpec((1, h, w, c), tf.float32)])

    def prepare(i: int) -> np.ndarray:
        name, data = images[i % len(images)]
        return load_model_input(data, h, w, c, name)[None]

    def timed(call, count: int) -> list[float]:
        for i in range(NATIVE_WARMUP):
            call(prepare(i))
        times = []
        for i in range(count):
            x = prepare(i)
            started = time.perf_counter()
            call(x)
            times.append((time.perf_counter() - started) * 1000)
        return times

    decode = []
    for i in range(runs):
        started = time.perf_counter()
        prepare(i)
        decode.append((time.perf_counter() - started) * 1000)
    return {
        "decode": decode,
        "compiled": timed(lambda x: compiled(x).numpy(), runs),
        "eager": timed(lambda x: model(x, training=False).numpy(), runs),
        "predict": timed(lambda x: model.predict(x, verbose=0), PREDICT_RUNS),
        "tensorflow": tf.__version__,
        "threads": (tf.config.threading.get_intra_op_parallelism_threads() or "all cores",
                    tf.config.threading.get_inter_op_parallelism_threads() or "all cores"),
        "parameters": model.count_params(),
    }


# -------------------------------------------------------------------------------------- the API

def measure_api(requests: int, agreement: int) -> dict:
    # bench/api_bench.py's own defaults (its --help), bar the request and agreement counts.
    return api_bench.measure(api_bench.parse_args(["--requests", str(requests), "--agreement", str(agreement)]))


# ----------------------------------------------------------------------------------- the report

def p50(values) -> float:
    return float(np.percentile(values, 50))


def demoted(markdown: str, title: str) -> str:
    """Another report's text under our own heading: its headings one level down, its title dropped."""
    lines = markdown.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return f"## {title}\n" + "\n".join("#" + line if line.startswith("#") else line for line in lines)


def render(run: dict) -> str:
    m, env, page, native, api = run["machine"], run["page_env"], run["page"], run["native"], run["api"]
    wasm = next(r for r in page["backends"] if r["backend"] == "wasm")
    native_total = [d + k for d, k in zip(native["decode"], native["compiled"])]
    ratio_total = wasm["total_p50"] / p50(native_total)
    ratio_model = wasm["inference_p50"] / p50(native["compiled"])
    ready = statistics.median(page["loads"]["cold_ready_ms"])
    first_visit = page["loads"]["first_visit_total_bytes"]
    busy = busiest(run["busy"])
    contention = ("**Other processes were using the CPU during this run** (figures are slower than on an idle "
                  "machine, the page's and native Keras's alike; the ratio is the figure to read):\n\n"
                  + "\n".join(f"- `{line}`" for line in busy)) if busy else \
        "No other process used a large share of the CPU during this run."
    agreement = api.get("agreement") or {}
    png = agreement.get("PNG")

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        "# Benchmarks: the page, native Keras and the API",
        "",
        f"`make bench` (`python -m bench.run_all`), {run['date']}, in {run['minutes']:.1f} minutes.",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']:.0f} GB RAM; {m['os']}; Python {m['python']}; "
        f"TensorFlow {native['tensorflow']}; {env['chromium']} (headless, no GPU).",
        f"- Load average (1, 5, 15 min) at the start: {', '.join(f'{x:.1f}' for x in run['load_start'])}; "
        f"at the end: {', '.join(f'{x:.1f}' for x in run['load_end'])}.",
        f"- Model: {page_bench.model_summary(MODEL_DIR)['architecture']} "
        f"({native['parameters']:,} parameters), `frontend/model/` version `{page['loads']['version']}`; "
        f"{api['model_note']}.",
        f"- Images: {run['images_note']}; the page and native Keras classify the same files, batch 1.",
        "",
        contention,
        "",
        "## Summary",
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        f"| page, wasm, ms/image p50 (decode + preprocess + model, in the worker) | {wasm['total_p50']:.2f} | "
        f"<= 10 (goal 5) | {verdict(wasm['total_p50'] <= 10)} |",
        f"| native Keras, ms/image p50 (mri.images decode + preprocess, then the model as a tf.function) | "
        f"{p50(native_total):.2f} | | |",
        f"| **page / native**, whole image | **{ratio_total:.2f}x** | <= {RATIO_GOAL}x | "
        f"{verdict(ratio_total <= RATIO_GOAL)} |",
        f"| page / native, model only (wasm {wasm['inference_p50']:.2f} ms vs tf.function "
        f"{p50(native['compiled']):.2f} ms) | {ratio_model:.2f}x | | |",
        f"| page, navigation to ready, first visit (median) | {ready:.0f} ms | <= 1000 ms | {verdict(ready <= 1000)} |",
        f"| page, bytes sent by the server for a first visit (app, model, service worker's offline copy) | "
        f"{first_visit / 1e6:.2f} MB | <= 3 MB | {verdict(first_visit <= 3e6)} |",
        f"| API, requests/s, {api['config']['clients']} concurrent clients, {api['config']['size']} px images | "
        f"{api['req_per_s']:.0f} | >= 100 | {verdict(api['req_per_s'] >= 100)} |",
        f"| API, p99 latency | {api['p99_ms']:.1f} ms | <= 100 ms | {verdict(api['p99_ms'] <= 100)} |",
        f"| API, errors | {len(api['errors'])} of {api['requests']} | 0 | {verdict(not api['errors'])} |",
    ]
    if run.get("volume"):
        lines += volume_bench.summary_rows(run["volume"])
    if png:
        lines.append(f"| page vs API, max abs probability difference, PNG ({png['n']} real slices) | "
                     f"{png['max_diff']:.1e}, same top-1 on {png['same_top1']} of {png['n']} | <= 1e-4 | "
                     f"{verdict(png['max_diff'] <= 1e-4 and png['same_top1'] == png['n'])} |")
    lines += [
        "",
        "## Native Keras, batch 1",
        "",
        f"The same {len(run['images'])} images, cycled; {NATIVE_WARMUP} unmeasured calls first. TensorFlow threads "
        f"(intra-op, inter-op): {native['threads'][0]}, {native['threads'][1]}; the page's wasm backend runs on "
        f"{wasm['detail'].get('threads')} thread(s).",
        "",
        "| step | calls | p50 ms | p90 ms |",
        "| --- | --- | --- | --- |",
    ]
    for label, key in (("decode + preprocess (mri.images.load_model_input)", "decode"),
                       ("model as a tf.function (what the API runs)", "compiled"),
                       ("model called eagerly, `model(x)`", "eager"),
                       ("`model.predict(x)` (Keras's batch API: per-call set-up dominates)", "predict")):
        values = native[key]
        lines.append(f"| {label} | {len(values)} | {p50(values):.2f} | {np.percentile(values, 90):.2f} |")
    lines += [
        "",
        "The page's figure counts the same steps as the first two rows together: the browser's decoder, the "
        "page's preprocessing (preprocess.js) and TF.js; per backend below.",
        "",
        demoted(run["page_text"], "The page in headless Chromium (bench/page_bench.py)"),
        "",
        demoted(run["api_text"], "The API under load (bench/api_bench.py)"),
        "",
    ]
    if run.get("volume"):
        lines += [demoted(run["volume_text"], "A whole scan in the page (bench/volume_bench.py)"), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20,
                        help="distinct images for the page and native Keras (default 20)")
    parser.add_argument("--runs", type=int, default=100,
                        help="classifications per page backend and native mode (default 100)")
    parser.add_argument("--loads", type=int, default=5, help="cold and warm page loads to time (default 5)")
    parser.add_argument("--api-requests", type=int, default=api_bench.REQUESTS,
                        help=f"measured API requests (default {api_bench.REQUESTS})")
    parser.add_argument("--agreement", type=int, default=50, help="real slices for page vs API (default 50; 0: off)")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "bench.md", help="where to write the report")
    args = parser.parse_args()
    if not (MODEL_DIR / "model.json").is_file():
        raise SystemExit(f"{MODEL_DIR}/model.json is missing: convert the model first (python -m convert --help).")

    started = time.monotonic()
    run = {"machine": machine(), "load_start": os.getloadavg(), "busy": busy_processes(),
           "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    images, run["images_note"] = page_bench.sample_images(args.images)
    run["images"] = images
    run["page_env"] = page_bench.environment()
    print(f"page: {len(images)} images, {args.runs} runs per backend…", flush=True)
    run["page"] = asyncio.run(measure_page(images, args.runs, args.loads))
    run["busy"] += busy_processes()
    print("native Keras…", flush=True)
    run["native"] = measure_native(images, args.runs)
    run["busy"] += busy_processes()
    print(f"API: {args.api_requests} requests…", flush=True)
    run["api"] = measure_api(args.api_requests, args.agreement)
    run["busy"] += busy_processes() + run["api"]["busy"]
    if volume_bench.DEFAULT_VOLUME.is_file():
        print("a whole volume in the page…", flush=True)
        run["volume"] = asyncio.run(volume_bench.measure(volume_bench.DEFAULT_VOLUME, 5))
        run["busy"] += busy_processes()
    else:
        print(f"no volume benchmark: {volume_bench.DEFAULT_VOLUME} is missing", flush=True)
    run["load_end"] = os.getloadavg()
    run["minutes"] = (time.monotonic() - started) / 60
    run["page_text"] = page_bench.render(run["page_env"], page_bench.model_summary(MODEL_DIR), run["images_note"],
                                         run["page"]["loads"], run["page"]["backends"], "python -m bench.run_all")
    run["api_text"] = api_bench.report(run["api"])
    if run.get("volume"):
        run["volume_text"] = volume_bench.render(run["volume"], volume_bench.DEFAULT_VOLUME,
                                                 "python -m bench.volume_bench")
    text = render(run)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
