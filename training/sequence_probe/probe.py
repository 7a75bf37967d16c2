"""The sequence probe: tumour detection on the test subset as it is, and again after grey-level
changes that alter how a scan looks between MRI sequences but not whether it holds a tumour. A model
that learned tumours keeps its sensitivity; one that learned "bright CSF = the normal collection"
loses it. Each image gets its own fixed seed, so a rerun gives the same figures.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from training.augment import random_intensity_curve
from training.evaluate import per_group_metrics, predict_probabilities
from training.report import percent

PROBE_SEED = 11


def brighten_dark_tissue(image, seed):
    """Raise one band of dark grey levels (centre 12-25 % grey, half-width 5-7 %) to 35-90 % grey.
    CSF is dark in T1 and FLAIR but bright in T2; the 4-class set's normals are mostly T2 and its
    tumours mostly T1, so a network can read "bright CSF = no tumour". Unlike the random curve,
    every other level keeps its brightness: the lesion stays as it was. Air and background (under
    5 % grey) are never touched. A probe, not an augmentation: docs/log.md says why."""
    u = tf.random.stateless_uniform([3], seed)
    centre, half_width, target = 0.12 + 0.13 * u[0], 0.05 + 0.02 * u[1], 0.35 + 0.55 * u[2]
    t = tf.clip_by_value(image, 0.0, 255.0) / 255.0
    bump = tf.clip_by_value(1.0 - tf.abs(t - centre) / half_width, 0.0, 1.0)
    return 255.0 * (t + bump * tf.maximum(target - t, 0.0))


def transforms() -> dict:
    return {"as is": None, "CSF made bright (T2-like)": brighten_dark_tissue,
            "random intensity curve": random_intensity_curve}


def apply(transform, pixels: np.ndarray) -> np.ndarray:
    x = pixels.astype(np.float32)
    if transform is None:
        return x
    return np.stack([transform(tf.constant(image), tf.constant([i, PROBE_SEED], tf.int64)).numpy()
                     for i, image in enumerate(x)])


def probe(model, data, subset: str = "test") -> dict:
    """{transform: {collection: figures}} on one subset of the split."""
    x, y = data.subset(subset)
    collections = data.sources[data.mask(subset)]
    no_tumor = data.no_tumor_label
    return {name: per_group_metrics(predict_probabilities(model, apply(fn, x)), y, collections,
                                         data.labels, no_tumor)
            for name, fn in transforms().items()}


def write_report(results: dict, model_path: str, command: str, path: Path) -> None:
    lines = ["# Sequence probe: tumour detection when only the grey levels change", "",
             f"Model `{model_path}`, test subset of its own split, tumour probability ≥ 0.5. Rerun:", "",
             "```", command, "```", "",
             "Each change keeps the anatomy and the lesion where they are and alters how tissues look "
             "between MRI sequences; a model that found tumours by shape keeps its sensitivity.", "",
             "| images | collection | sensitivity | specificity | accuracy (4 classes) |", "|---|---|---:|---:|---:|"]
    for name, per_collection in results.items():
        for collection, m in per_collection.items():
            lines.append(f"| {name} | {collection} ({m['tumor_images']} tumour, {m['no_tumor_images']} normal) | "
                         f"{percent(m['tumor_sensitivity'])} | {percent(m['tumor_specificity'])} | "
                         f"{percent(m['accuracy'])} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"model": model_path, "probe": results}, indent=2) + "\n")
