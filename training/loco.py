"""Leave one collection out: train on every collection but one, then judge tumour detection on the
whole collection left out, the standard estimate of "a hospital the model never saw".

    python -m training.loco --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        ../shared/data/brain-mri-brats ../shared/data/brain-mri-alzheimer-t1 \\
        ../shared/data/brain-mri-openneuro-t1 --out runs/loco --report reports/loco.md --epochs 12

Each fold trains with the same settings as `training.train` (its flags below), usually shorter
(the report says how long). Collections with tumour and normal images get sensitivity,
specificity and ROC AUC; normal-only ones get specificity; BraTS-style collections that name the
sequence also get figures per sequence. Files of TRAIN_ONLY_PATIENTS are never judged on: they may
be the same people as another collection's. The report is rewritten after every fold.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from training.evaluate import percent
from training.train import (BATCH_SIZE, CACHE_DIR, INTENSITY, LEARNING_RATE, SAMPLING, SEED, SKULL,
                            find_no_tumor_label, predict_probabilities, prepare_data, train_model)

EPOCHS = 12  # per fold: five folds of the full data fit in about 3 hours on 2 CPU cores


def held_out_figures(model, labels: list[str], held_out: str, input_shape, cache_dir: str | None) -> dict:
    """Tumour detection on every image of one collection, pooled and per sequence."""
    from training.data import TRAIN_ONLY_PATIENTS, load_images, patient_of, scan_folders, sequence_of
    from training.evaluate import per_group_metrics, tumor_detection_metrics

    records = [r for r in scan_folders([held_out], min_classes=1) if patient_of(r.path) not in TRAIN_ONLY_PATIENTS]
    h, w, c = input_shape
    pixels, _, _, kept = load_images(records, h, w, c, cache_dir)
    probabilities = predict_probabilities(model, pixels)
    no_tumor = find_no_tumor_label(labels)
    held_no_tumor = find_no_tumor_label(sorted({r.label for r in kept}))
    # Judged as tumour vs none, so a collection's own label names (yes / no) are mapped by meaning.
    y = np.array([labels.index(no_tumor) if r.label == held_no_tumor else
                  labels.index(r.label) if r.label in labels else -1 for r in kept])
    tumor_p = 1.0 - probabilities[:, labels.index(no_tumor)]
    figures = {"data": str(held_out), **tumor_detection_metrics(tumor_p, y != labels.index(no_tumor))}
    sequences = [sequence_of(r) for r in kept]
    if len(set(sequences) - {"unknown"}) > 1:
        figures["per_sequence"] = per_group_metrics(probabilities, y, sequences, labels, no_tumor)
    return figures


def run_fold(held_out: str, data_dirs: list[str], labels: list[str], args) -> dict:
    train_dirs = [d for d in data_dirs if d != held_out]
    data = prepare_data(train_dirs, args.image_size, 1, args.seed, args.cache_dir or None, labels=labels)
    model, history, seconds = train_model(args.model, data, args.epochs, args.batch_size, args.learning_rate,
                                          args.seed, args.max_minutes, verbose=2, patience=args.epochs,
                                          intensity=args.intensity, skull=args.skull, sampling=args.sampling)
    fold_dir = Path(args.out) / Path(held_out).name
    fold_dir.mkdir(parents=True, exist_ok=True)
    model.save(fold_dir / "model.h5", include_optimizer=False)
    figures = held_out_figures(model, labels, held_out, data.input_shape, args.cache_dir or None)
    return {"held_out": Path(held_out).name, "trained_on": [Path(d).name for d in train_dirs],
            "training_images": int(sum(s == "train" for s in data.subsets)), "epochs_run": len(history["loss"]),
            "train_seconds": round(seconds, 1), **figures}



def write_report(folds: list[dict], args, path: Path) -> None:
    lines = [
        "# Leave one collection out", "",
        "Each row: a model trained on every other collection (same split rules, augmentation and "
        "sampling as `training.train`), judged on **every image of the collection left out** "
        "(tumour probability ≥ 0.5). Rerun:", "",
        "```", "python -m training.loco " + " ".join(sys.argv[1:]), "```", "",
        f"Folds are shorter than the shipped training ({args.epochs} epochs"
        f"{f', at most {args.max_minutes:g} min' if args.max_minutes else ''} each, "
        f"model `{args.model}`, intensity `{args.intensity}`, skull augmentation "
        f"{'on' if args.skull else 'off'}, sampling `{args.sampling}`), so they understate what a full run "
        "reaches; they compare collections with each other, and methods run with the same flags.", "",
        "| held out | images (tumour / normal) | tumour sensitivity | specificity | ROC AUC | trained on | epochs | time |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for f in folds:
        auc = f.get("tumor_roc_auc")
        lines.append(f"| {f['held_out']} | {f['tumor_images'] + f['no_tumor_images']} ({f['tumor_images']} / "
                     f"{f['no_tumor_images']}) | {percent(f['tumor_sensitivity'])} | {percent(f['tumor_specificity'])} | "
                     f"{'–' if auc is None else f'{auc:.3f}'} | {', '.join(f['trained_on'])} ({f['training_images']}) | "
                     f"{f['epochs_run']} | {f['train_seconds'] / 60:.0f} min |")
    with_sequences = [f for f in folds if f.get("per_sequence")]
    for f in with_sequences:
        lines += ["", f"## {f['held_out']} held out, per sequence", "",
                  "| sequence | images (tumour / normal) | tumour sensitivity | specificity | ROC AUC |",
                  "|---|---:|---:|---:|---:|"]
        for name, m in f["per_sequence"].items():
            auc = m.get("tumor_roc_auc")
            lines.append(f"| {name} | {m['n']} ({m['tumor_images']} / {m['no_tumor_images']}) | "
                         f"{percent(m['tumor_sensitivity'])} | {percent(m['tumor_specificity'])} | "
                         f"{'–' if auc is None else f'{auc:.3f}'} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"settings": {k: v for k, v in vars(args).items()},
                                                     "folds": folds}, indent=2) + "\n")


def parse_args(argv=None):
    from training.models import list_models

    p = argparse.ArgumentParser(prog="python -m training.loco", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="every collection (folder of class folders)")
    p.add_argument("--hold-out", nargs="+", default=None, metavar="DIR",
                   help="the collections to leave out, one fold each (default: every --data folder)")
    p.add_argument("--out", required=True, help="folder for one model.h5 per fold")
    p.add_argument("--report", required=True, help="Markdown report (JSON beside it), rewritten after every fold")
    p.add_argument("--model", default="compact", choices=list_models(), help="registered model (default compact)")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs per fold, no early stopping (default {EPOCHS})")
    p.add_argument("--max-minutes", type=float, default=None, help="time budget per fold in minutes")
    p.add_argument("--image-size", type=int, default=128, help="input height and width (default 128)")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"batch size (default {BATCH_SIZE})")
    p.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help=f"Adam learning rate (default {LEARNING_RATE})")
    p.add_argument("--intensity", default=INTENSITY, choices=("curve", "stacked"), help=f"as training.train (default {INTENSITY})")
    p.add_argument("--skull", action=argparse.BooleanOptionalAction, default=SKULL, help="as training.train")
    p.add_argument("--sampling", default=SAMPLING, choices=("natural", "balanced"), help=f"as training.train (default {SAMPLING})")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed for split, weights, augmentation (default {SEED})")
    p.add_argument("--cache-dir", default=CACHE_DIR, help=f"decoded-image cache; '' disables (default {CACHE_DIR})")
    args = p.parse_args(argv)
    unknown = set(args.hold_out or []) - set(args.data)
    if unknown:
        p.error(f"--hold-out {sorted(unknown)} must be among the --data folders.")
    if len(args.data) < 2:
        p.error("leave-one-collection-out needs two or more --data folders.")
    return args


def main(argv=None) -> int:
    from training.data import labels_of, scan_folders

    args = parse_args(argv)
    labels = labels_of(scan_folders(args.data))
    if find_no_tumor_label(labels) is None:
        raise SystemExit(f"No no-tumour class among {labels}: tumour detection needs one.")
    folds = []
    for held_out in args.hold_out or args.data:
        start = time.monotonic()
        print(f"\n=== {Path(held_out).name} held out ===", flush=True)
        folds.append(run_fold(held_out, args.data, labels, args))
        write_report(folds, args, Path(args.report))
        print(f"{Path(held_out).name}: sensitivity {percent(folds[-1]['tumor_sensitivity'])}, specificity "
              f"{percent(folds[-1]['tumor_specificity'])} ({(time.monotonic() - start) / 60:.1f} min)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
