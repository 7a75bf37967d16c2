"""`make bench`: the page, native Keras and the API measured in one run, on the same model and the
same images; writes reports/bench.md with the machine and the date.

    python -m bench.run_all [--images 20] [--runs 100] [--api-requests 2000] [--report reports/bench.md]

(a) The page in Debian's headless Chromium (bench/page_bench.py): ms per image per backend, time
    from navigation to ready, bytes transferred.
(b) Native Keras in this process (bench/native_keras.py), right after (a): frontend/model/model.h5 on the same images,
    batch 1, decoded and preprocessed by mri.images (the page's Python twin), so the report
    gives the ratio page / native (the goal: <= 1.5x).
(c) POST /api/predict under concurrent clients against gunicorn (bench/api_bench.py), with the
    page-vs-API agreement on real slices.
(d) A whole 240x240x155 BraTS NIfTI volume read and classified in the page (bench/volume_bench.py),
    checked against Keras on the same slices.

Other processes sharing the CPU (a training job, say) are listed in the report: they slow every
figure, the page's and native Keras's alike. bench/run_all_report.py renders the report.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import api_bench, page_bench, volume_bench
from bench.machine import busy_processes, machine
from bench.native_keras import measure_native
from bench.run_all_report import render

MODEL_DIR = ROOT / "frontend" / "model"


def measure_api(requests: int, agreement: int) -> dict:
    # bench/api_bench.py's own defaults (its --help), bar the request and agreement counts.
    return api_bench.measure(api_bench.parse_args(["--requests", str(requests), "--agreement", str(agreement)]))


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
    run["page"] = asyncio.run(page_bench.measure(images, args.runs, args.loads))
    run["busy"] += busy_processes()
    print("native Keras…", flush=True)
    run["native"] = measure_native(MODEL_DIR, images, args.runs)
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
    run["model"] = page_bench.model_summary(MODEL_DIR)
    run["page_text"] = page_bench.render(run["page_env"], run["model"], run["images_note"],
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
