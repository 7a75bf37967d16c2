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
Only loopback is used. The clients are bench/api_load.py, the page-vs-API comparison
bench/api_agreement.py, the report bench/api_report.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.api_agreement import page_vs_api
from bench.api_load import bench_images, run_clients
from bench.api_report import report
from bench.machine import busy_processes, cpu_seconds, rss_mb, worker_pids
from testbed.server import Gunicorn, start_gunicorn, wait_until_ready

REPO = Path(__file__).resolve().parents[1]

CLIENTS = 8  # concurrent clients, each on its own connection
REQUESTS = 2000  # measured requests, shared by the clients
WARMUP = 32  # unmeasured requests first (connections, first calls)
IMAGE_SIZE = 128  # pixels a side of each uploaded image
IMAGES = 64  # distinct images cycled through
STARTUP_TIMEOUT_S = 180  # for every worker to load TensorFlow and the model


def start_server(workers: int, threads: int, tf_threads: int) -> Gunicorn:
    """gunicorn with the benchmark's workers and threads and no access log, every worker loaded."""
    server = start_gunicorn({"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads),
                             "MRI_TF_THREADS": str(tf_threads), "GUNICORN_ACCESS_LOG": ""})
    wait_until_ready(server, STARTUP_TIMEOUT_S, workers=workers)
    return server


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
        "config": vars(args), "image_note": image_note, "warmup": WARMUP, "warmup_errors": warm["errors"],
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


def parse_args(argv=None) -> argparse.Namespace:
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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    result = measure(args)
    text = report(result)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text)
    print(text)
    return 0 if not result["errors"] else 1  # the figures are judged in the report, not here


if __name__ == "__main__":
    sys.exit(main())
