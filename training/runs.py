"""A trained run's folder: model.h5, curves.png, split.csv, confusion.png and metadata.json (the
contract's fields, how the run was trained, its held-out figures); and shipping it to the page.
"""
from __future__ import annotations

import datetime
import json
import platform
import shutil
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from training.augment import describe
from training.data import PreparedData
from training.evaluate import evaluate_model
from training.settings import DEFAULTS
from training.split import NEAR_DUPLICATE_CORRELATION, summarize_split, write_split_csv


def library_versions() -> dict:
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


def plot_curves(history: dict, path: str | Path, title: str) -> None:
    fig = Figure(figsize=(10, 4))
    for ax, key in zip(fig.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(history[key], label="train (augmented)")
        ax.plot(history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def build_metadata(model_name: str, data: PreparedData, history: dict, seconds: float, args: dict,
                   metrics: dict | None = None) -> dict:
    """metadata.json: the contract's fields (docs/contract.md), then the run's training and figures."""
    h, w, c = data.input_shape
    return {
        "labels": data.labels,
        "no_tumor_label": data.no_tumor_label,
        "input": {"height": h, "width": w, "channels": c, "dtype": "float32", "range": [0, 255],
                  "resize": "bilinear, half-pixel centres, no antialias",
                  "grayscale": "0.299 R + 0.587 G + 0.114 B" if c == 1 else None},
        "architecture": model_name,
        "metrics": metrics or {},
        "training": {
            "data": data.data_dirs,
            "class_counts": dict(sorted(Counter(r.label for r in data.records).items())),
            "split": summarize_split(data.records, data.subsets),
            "split_rule": f"stratified by collection and label, by near-duplicate group (thumbnail "
                          f"correlation >= {NEAR_DUPLICATE_CORRELATION}, exact MD5, same patient); "
                          "BraTS patients from TCGA-LGG in training only",
            "groups": int(len(set(data.groups.tolist()))),
            "seed": args.get("seed"),
            "epochs_run": len(history.get("loss", [])),
            "settings": args,
            "seconds": round(seconds, 1),
            "augmentation": describe(args.get("intensity", DEFAULTS.intensity), args.get("skull", DEFAULTS.skull)),
            "sampling": args.get("sampling", DEFAULTS.sampling),
            "versions": library_versions(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    }


def save_run(model, history: dict, data: PreparedData, out_dir: str | Path, name: str) -> None:
    """model.h5, curves.png and split.csv into out_dir; metadata.json follows once the run is
    evaluated (save_and_evaluate)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # No optimizer state: the shipped file is for inference, a third of the size.
    model.save(out / "model.h5", include_optimizer=False)
    write_split_csv(out / "split.csv", data.records, data.groups, data.subsets)
    if history.get("loss"):
        plot_curves(history, out / "curves.png", f"{name} on {', '.join(map(str, data.data_dirs))}")


def metadata_metrics(result: dict, report: Path | None) -> dict:
    """The held-out figures metadata.json carries (the model card reads them)."""
    return {"test": result["test"], "validation_macro_f1": result["validation_macro_f1"],
            "external": result["external"], "cpu_ms_per_image": result["cpu_ms_per_image"],
            "report": str(report) if report else None}


def save_and_evaluate(name: str, model, data: PreparedData, history: dict, seconds: float, settings: dict,
                      run_dir: Path, externals: list[str], cache_dir: str | None, report: Path | None) -> dict:
    """Save a trained model's run folder, evaluate it, and write its metadata.json once, with the
    held-out figures; with a report, its plots also go to the report's figure folder."""
    save_run(model, history, data, run_dir, name)
    result = evaluate_model(name, model, data, history, seconds, run_dir, externals, cache_dir)
    metadata = build_metadata(name, data, history, seconds, settings, metadata_metrics(result, report))
    (run_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    if report:
        figures = report.parent / report.stem
        figures.mkdir(parents=True, exist_ok=True)
        for kind in ("confusion", "curves"):
            if (run_dir / f"{kind}.png").exists():
                shutil.copy(run_dir / f"{kind}.png", figures / f"{name}-{kind}.png")
    return result


def ship_run(run_dir: Path, ship_dir: Path) -> None:
    """Copy a run's model.h5 and metadata.json to where the page and the server read them."""
    ship_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "model.h5", ship_dir / "model.h5")
    shutil.copy(run_dir / "metadata.json", ship_dir / "metadata.json")
    print(f"Shipped {run_dir} to {ship_dir}; run `python -m convert` to refresh the TF.js files.")
