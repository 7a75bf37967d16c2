"""`make bench`'s report (bench/run_all.py measures, this renders): the machine, the summary of
every figure beside its target, native Keras's table, then each part's own report under its heading."""
from __future__ import annotations

import statistics

import numpy as np

from bench import volume_bench
from bench.machine import busiest
from bench.native_keras import NATIVE_WARMUP

RATIO_GOAL = 1.5  # page ms/image over native Keras ms/image (issue "Two commands")


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
    first_visit = page["loads"].get("first_visit_gzip_bytes")
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
        f"- Model: {run['model']['architecture']} "
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
        "| page, bytes sent for a first visit (app, model, service worker's offline copy), gzip as the Django "
        "site sends them | " + ("n/a | <= 3 MB |" if first_visit is None else
                                 f"{first_visit / 1e6:.2f} MB | <= 3 MB | {verdict(first_visit <= 3e6)}") + " |",
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

