"""Does a model find tumours, or read the sequence a collection happened to use? Tumour detection on
the test subset as it is, and again after grey-level changes that alter how a scan looks between
MRI sequences but not whether it holds a tumour:

- "CSF made bright": dark tissue (CSF in T1 and FLAIR) raised the way it is in T2
  (`brighten_dark_tissue` below);
- "random intensity curve": tissue brightness reordered (`training.augment.random_intensity_curve`).

    python -m training.sequence_probe --model frontend/model/model.h5 \\
        --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        --report reports/sequence-probe.md

A model that learned tumours keeps its sensitivity; one that learned "bright CSF = the normal
collection" loses it. Each image gets its own fixed seed, so a rerun gives the same figures.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.evaluate import percent
from training.evaluate import load_with_split, per_group_metrics
from training.train import CACHE_DIR, SEED, find_no_tumor_label, predict_probabilities

PROBE_SEED = 11


def brighten_dark_tissue(image, seed):
    """Raise one band of dark grey levels (centre 12-25 % grey, half-width 5-7 %) to 35-90 % grey.
    CSF is dark in T1 and FLAIR but bright in T2; the 4-class set's normals are mostly T2 and its
    tumours mostly T1, so a network can read "bright CSF = no tumour". Unlike the random curve,
    every other level keeps its brightness: the lesion stays as it was. Air and background (under
    5 % grey) are never touched. (Tried as training augmentation on a quarter of the images, run
    csf70 in reports/shortcut.md: it removed most of this dependency but moved neither validation
    nor the unseen collection the right way, so it is a probe only.)"""
    import tensorflow as tf

    u = tf.random.stateless_uniform([3], seed)
    centre, half_width, target = 0.12 + 0.13 * u[0], 0.05 + 0.02 * u[1], 0.35 + 0.55 * u[2]
    t = tf.clip_by_value(image, 0.0, 255.0) / 255.0
    bump = tf.clip_by_value(1.0 - tf.abs(t - centre) / half_width, 0.0, 1.0)
    return 255.0 * (t + bump * tf.maximum(target - t, 0.0))


def transforms() -> dict:
    from training.augment import random_intensity_curve

    return {"as is": None, "CSF made bright (T2-like)": brighten_dark_tissue,
            "random intensity curve": random_intensity_curve}


def apply(transform, pixels: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    x = pixels.astype(np.float32)
    if transform is None:
        return x
    return np.stack([transform(tf.constant(image), tf.constant([i, PROBE_SEED], tf.int64)).numpy()
                     for i, image in enumerate(x)])


def probe(model, data, subset: str = "test") -> dict:
    """{transform: {collection: figures}} on one subset of the split."""
    x, y = data.subset(subset)
    collections = data.collections(subset)
    no_tumor = find_no_tumor_label(data.labels)
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
                         f"{percent(m['tumor_sensitivity'])} | {percent(m['tumor_specificity'])} | {percent(m['accuracy'])} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"model": model_path, "probe": results}, indent=2) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.sequence_probe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model.h5 to probe (metadata.json beside it names its labels)")
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="the folders it was trained on (same split)")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed of the split the model was trained on (default {SEED})")
    p.add_argument("--cache-dir", default=CACHE_DIR, help=f"decoded-image cache; '' disables (default {CACHE_DIR})")
    p.add_argument("--report", required=True, help="Markdown report path; JSON is written beside it")
    args = p.parse_args(argv)
    model, data = load_with_split(args.model, args.data, args.seed, args.cache_dir or None)
    results = probe(model, data)
    command = "python -m training.sequence_probe " + " ".join(sys.argv[1:] if argv is None else argv)
    write_report(results, args.model, command, Path(args.report))
    print(f"Wrote {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
