"""Load test of POST /api/predict: concurrent clients against a real gunicorn on loopback.

Starts `gunicorn -c site/gunicorn.conf.py` on a free 127.0.0.1 port, waits until every worker
has loaded the model, sends a fixed number of multipart uploads of 128 px images from a fixed
number of client threads (each on its own keep-alive connection), checks every answer, and
writes a Markdown report: requests/s, latency percentiles, errors, the server's own "ms", and the
resident memory of each worker before and after.

With --agreement N it also opens the page in headless Chromium (Debian's, driven by Playwright)
on the same server, classifies N real slices in the page (`window.classifier.classify`) and
through the API, and reports how far the two answers are apart, for PNG and for JPEG.

    python -m bench.api_bench --report reports/bench-api.md      # `make bench-api`

Everything is bounded: the request count, every socket timeout, the server's start-up wait.
Only loopback is used.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from testbed.browser import chromium_missing, launch
from testbed.server import Gunicorn, start_gunicorn, wait_until_ready

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("MRI_DATA_DIR", REPO.parent / "shared" / "data"))

CLIENTS = 8  # concurrent clients, each on its own connection
REQUESTS = 2000  # measured requests, shared by the clients
WARMUP = 32  # unmeasured requests first (connections, first calls)
IMAGE_SIZE = 128  # pixels a side of each uploaded image
IMAGES = 64  # distinct images cycled through
STARTUP_TIMEOUT_S = 180  # for every worker to load TensorFlow and the model
REQUEST_TIMEOUT_S = 30
TARGETS = {"req_per_s": 100.0, "p99_ms": 100.0, "errors": 0, "rss_growth_pct": 10.0}
AGREEMENT_MAX_DIFF_PNG = 1e-4  # page vs API, the same PNG bytes
PAGE_TIMEOUT_MS = 120_000


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def bench_images(count: int, size: int) -> tuple[list[bytes], str]:
    """`count` PNGs of size x size: real slices when the data is here, generated ones otherwise."""
    root = DATA_DIR / "brain-mri-4class"
    if root.is_dir():
        paths = sorted(p for folder in sorted(root.iterdir()) if folder.is_dir()
                       for p in sorted(folder.iterdir())[: count // 4 + 1])[:count]
        images = [png(Image.open(p).convert("L").resize((size, size), Image.BILINEAR)) for p in paths]
        return images, f"{len(images)} real slices from {root.name}, resized to {size} px, PNG"
    rng = np.random.default_rng(0)
    images = [png(Image.fromarray(rng.integers(0, 255, (size, size), np.uint8))) for _ in range(count)]
    return images, f"{count} generated {size} px noise PNGs (no real data at {DATA_DIR})"


def multipart(data: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def worker_pids(master: int) -> list[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return sorted(int(pid) for pid in children)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_processes() -> list[str]:
    """Other processes using the CPU right now (a training job skews every figure)."""
    out = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True)
    busy = []
    for line in out.stdout.splitlines()[1:]:
        pcpu, _, args = line.strip().partition(" ")
        if float(pcpu or 0) >= 20 and "api_bench" not in args and "gunicorn" not in args:
            busy.append(f"{pcpu}% {args[:90]}")
    return busy[:5]


def start_server(workers: int, threads: int, tf_threads: int) -> Gunicorn:
    """gunicorn with the benchmark's workers and threads and no access log, every worker loaded."""
    server = start_gunicorn({"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads),
                             "MRI_TF_THREADS": str(tf_threads), "GUNICORN_ACCESS_LOG": ""})
    wait_until_ready(server, STARTUP_TIMEOUT_S, workers=workers)
    return server


def run_clients(port: int, images: list[bytes], total: int, clients: int) -> dict:
    """`total` requests from `clients` threads; returns latencies, server ms and errors."""
    bodies = [multipart(data, f"slice{i}.png") for i, data in enumerate(images)]
    counter = iter(range(total))
    lock = threading.Lock()
    latencies, server_ms, errors = [], [], []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body, content_type = bodies[i % len(bodies)]
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/predict", body, {"Content-Type": content_type})
                response = conn.getresponse()
                payload = response.read()
                elapsed = (time.perf_counter() - started) * 1000.0
                answer = json.loads(payload)
                if response.status != 200 or "probabilities" not in answer:
                    raise ValueError(f"{response.status} {payload[:200]!r}")
                with lock:
                    latencies.append(elapsed)
                    server_ms.append(answer["ms"])
            except Exception as err:  # every failure is counted and shown, none stops the run
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - started, "latencies": latencies,
            "server_ms": server_ms, "errors": errors}


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


def api_probabilities(port: int, data: bytes, name: str) -> dict:
    body, content_type = multipart(data, name)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("POST", "/api/predict", body, {"Content-Type": content_type})
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"/api/predict answered {response.status} for {name}: {answer}")
    return answer["probabilities"]


CLASSIFY_IN_PAGE = """async (items) => {
  const answers = [];
  for (const {name, type, b64} of items) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const result = await window.classifier.classify(new File([bytes], name, {type}));
    answers.push(result.probabilities);
  }
  return answers;
}"""


def page_vs_api(port: int, count: int) -> dict:
    """The page's answers (headless Chromium) beside the API's for the same bytes."""
    import base64

    if missing := chromium_missing():
        return {"skipped": missing}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "Playwright is not installed (make install)"}
    samples = agreement_samples(count)
    if not samples:
        return {"skipped": f"no real data at {DATA_DIR}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("HEAD", "/model/model.json")
        has_tfjs_model = conn.getresponse().status == 200
    finally:
        conn.close()
    if not has_tfjs_model:
        return {"skipped": "the served frontend has no TF.js model (model/model.json): convert it first"}
    api = [api_probabilities(port, data, name) for _, name, data in samples]
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


def measure(args) -> dict:
    images, image_note = bench_images(IMAGES, args.size)
    load_before = os.getloadavg()
    busy_before = busy_processes()
    server = start_server(args.workers, args.threads, args.tf_threads)
    port = server.port
    try:
        warm = run_clients(port, images, WARMUP, args.clients)
        pids = worker_pids(server.process.pid)
        rss_before = {pid: rss_mb(pid) for pid in pids}
        server_cpu_before = sum(cpu_seconds(pid) for pid in pids)
        client_cpu_before = time.process_time()
        run = run_clients(port, images, args.requests, args.clients)
        client_cpu = time.process_time() - client_cpu_before
        server_cpu = sum(cpu_seconds(pid) for pid in pids) - server_cpu_before
        rss_after = {pid: rss_mb(pid) for pid in pids if Path(f"/proc/{pid}").exists()}
        busy_during = busy_processes()
        agreement = page_vs_api(port, args.agreement) if args.agreement else None
    finally:
        server.stop()
    latencies = np.array(run["latencies"]) if run["latencies"] else np.array([np.nan])
    growth = max(((rss_after.get(pid, np.nan) - rss_before[pid]) / rss_before[pid] * 100.0
                  for pid in rss_before), default=float("nan"))
    return {
        "config": vars(args), "image_note": image_note, "warmup_errors": warm["errors"],
        "requests": len(run["latencies"]) + len(run["errors"]), "errors": run["errors"],
        "seconds": run["seconds"], "req_per_s": len(run["latencies"]) / run["seconds"],
        "p50_ms": float(np.percentile(latencies, 50)), "p90_ms": float(np.percentile(latencies, 90)),
        "p99_ms": float(np.percentile(latencies, 99)), "max_ms": float(np.max(latencies)),
        "server_ms_p50": float(np.median(run["server_ms"])) if run["server_ms"] else float("nan"),
        "server_cpu_ms": server_cpu * 1000.0 / max(len(run["latencies"]), 1),
        "client_cpu_ms": client_cpu * 1000.0 / max(len(run["latencies"]), 1),
        "rss_before": rss_before, "rss_after": rss_after, "rss_growth_pct": growth,
        "load_before": load_before, "load_after": os.getloadavg(),
        "busy": sorted(set(busy_before + busy_during)), "agreement": agreement,
        "model_note": model_note(),
    }


def model_note() -> str:
    model_dir = Path(os.environ.get("MRI_MODEL_DIR") or
                     Path(os.environ.get("MRI_FRONTEND_DIR") or REPO / "frontend") / "model")
    try:
        metadata = json.loads((model_dir / "metadata.json").read_text())
    except (OSError, ValueError):
        return f"{model_dir} (no readable metadata.json)"
    accuracy = (metadata.get("metrics") or {}).get("test", {}).get("accuracy")
    trained = f"test accuracy {accuracy:.3f}" if accuracy else json.dumps(metadata.get("training"))[:120]
    # Relative to the repository where it lies inside it: the report reads the same on any machine.
    shown = model_dir.resolve().relative_to(REPO) if model_dir.resolve().is_relative_to(REPO) else model_dir
    return f"{shown}: {metadata.get('architecture')}, {trained}"


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
  {WARMUP} unmeasured ones.
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="measured requests in all")
    parser.add_argument("--size", type=int, default=IMAGE_SIZE, help="image side in pixels")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="gunicorn workers (default: one per core)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--tf-threads", type=int, default=1,
                        help="TensorFlow threads per op (MRI_TF_THREADS)")
    parser.add_argument("--agreement", type=int, default=0, metavar="N",
                        help="also compare the page (headless Chromium) with the API on N real "
                             "slices, as PNG and as JPEG (default: 0, off)")
    parser.add_argument("--note", help="a sentence for the report's set-up (e.g. which model and why)")
    parser.add_argument("--report", type=Path, help="write the Markdown report here")
    args = parser.parse_args(argv)
    result = measure(args)
    text = report(result)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text)
    print(text)
    return 0 if not result["errors"] else 1  # the figures are judged in the report, not here


if __name__ == "__main__":
    sys.exit(main())
