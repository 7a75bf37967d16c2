"""The API benchmark's Markdown report (bench/api_bench.py measures, this renders): the set-up, the
figures beside their targets, the workers' memory, and the page-vs-API agreement when measured."""
from __future__ import annotations

import datetime as dt
import os
import platform

TARGETS = {"req_per_s": 100.0, "p99_ms": 100.0, "errors": 0, "rss_growth_pct": 10.0}
AGREEMENT_MAX_DIFF_PNG = 1e-4  # page vs API, the same PNG bytes


def results_table(result: dict) -> str:
    """The four measured figures, each beside its target (TARGETS)."""
    rows = [
        ("requests/s", f"{result['req_per_s']:.1f}", f">= {TARGETS['req_per_s']:.0f}",
         result["req_per_s"] >= TARGETS["req_per_s"]),
        ("p99 latency", f"{result['p99_ms']:.1f} ms", f"<= {TARGETS['p99_ms']:.0f} ms",
         result["p99_ms"] <= TARGETS["p99_ms"]),
        ("errors", f"{len(result['errors'])} of {result['requests']}", str(TARGETS["errors"]),
         len(result["errors"]) == TARGETS["errors"]),
        ("worker RSS growth (largest)", f"{result['rss_growth_pct']:.1f} %",
         f"<= {TARGETS['rss_growth_pct']:.0f} %", result["rss_growth_pct"] <= TARGETS["rss_growth_pct"]),
    ]
    lines = ["| figure | measured | target | |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {value} | {target} | {'met' if ok else '**missed**'} |"
              for name, value, target, ok in rows]
    return "\n".join(lines)


def report(result: dict) -> str:
    c = result["config"]
    rss_rows = "\n".join(
        f"| {pid} | {before:.0f} | {result['rss_after'].get(pid, float('nan')):.0f} |"
        for pid, before in result["rss_before"].items())
    busy = result["busy"]
    contention = (
        "Other processes were using the CPU during the run, so these figures are lower bounds:\n\n"
        + "\n".join(f"- `{line}`" for line in busy)) if busy else \
        "No other process used a significant share of the CPU during the run."
    errors = "\n".join(f"- `{e}`" for e in result["errors"][:10]) or "none"
    loads = [", ".join(f"{x:.2f}" for x in result[key]) for key in ("load_before", "load_after")]
    return f"""# API benchmark: POST /api/predict

Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC with `bench/api_bench.py` (`make bench-api`
runs it). Rerun it on a quiet machine before comparing figures.

## Set-up
- Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}),
  Python {platform.python_version()}, Linux.
- Server: gunicorn (site/gunicorn.conf.py) on 127.0.0.1, {c['workers']} workers x
  {c['threads']} threads (gthread), TensorFlow {c['tf_threads']} thread(s) per op, access log off.
- Model: {result['model_note']}.{(chr(10) + "- Note: " + c["note"]) if c.get("note") else ""}
- Clients: {c['clients']} threads in one process on the same machine (they share its cores with
  the server), each with its own keep-alive connection; {c['requests']} measured requests after
  {result['warmup']} unmeasured ones.
- Images: {result['image_note']}.
- Load average (1, 5, 15 min) before: {loads[0]}; after: {loads[1]}.

{contention}

## Results
{results_table(result)}

Latency seen by the clients: p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms,
p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms, over {result['seconds']:.1f} s.
The server's own time per image (decode, preprocess, predict: the answer's `ms`), median:
{result['server_ms_p50']:.2f} ms.

CPU time per request (contention inflates it far less than latency): the gunicorn workers
{result['server_cpu_ms']:.2f} ms (Django, multipart, decoding, TensorFlow), the clients
{result['client_cpu_ms']:.2f} ms. On {os.cpu_count()} otherwise idle cores, server and clients
together would sustain about
{os.cpu_count() * 1000.0 / (result['server_cpu_ms'] + result['client_cpu_ms']):.0f} requests/s.

| worker pid | RSS before (MB) | RSS after (MB) |
| --- | --- | --- |
{rss_rows}

Errors: {errors}
{agreement_section(result["agreement"])}"""


def agreement_section(agreement: dict | None) -> str:
    if agreement is None:
        return ""
    head = "\n## The page and the API agree\n"
    if "skipped" in agreement:
        return head + f"Not measured: {agreement['skipped']}.\n"
    rows = []
    for kind, note in (("PNG", "the same pixels: preprocessing and model only"),
                       ("JPEG", "the browser's and Pillow's JPEG decoders may differ")):
        if kind in agreement:
            a = agreement[kind]
            rows.append(f"| {kind} | {a['n']} | {a['same_top1']} of {a['n']} | {a['max_diff']:.2e} | "
                        f"{a['mean_diff']:.2e} | {note} |")
    png_ok = "PNG" in agreement and agreement["PNG"]["max_diff"] <= AGREEMENT_MAX_DIFF_PNG and \
        agreement["PNG"]["same_top1"] == agreement["PNG"]["n"]
    problems = "\n".join(f"- `{p[:200]}`" for p in agreement["problems"]) or \
        "none (no CSP violation, error or warning in the console)"
    return head + f"""Headless Chromium on the same server: TF.js backend {agreement['backend']} (SIMD
{agreement['simd']}, {agreement['threads']} thread(s)), cross-origin isolated: {agreement['isolated']}.
Each slice went through `window.classifier.classify` in the page and through `POST /api/predict`.

| upload | images | same top-1 | max abs(p_page - p_api) | mean | |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Target (PNG: the same top-1 everywhere, max abs difference <= {AGREEMENT_MAX_DIFF_PNG:g}):
{"met" if png_ok else "**missed**"}. The differences are TF.js (wasm) against Keras on the same
input. JPEG decoding: the page's answer on each JPEG and on Pillow's PNG of it differ by at most
{agreement['jpeg_decoder_max_diff']:.2e} (0 means Chromium decoded every JPEG to Pillow's pixels).

Console problems while loading and classifying: {problems}
"""

