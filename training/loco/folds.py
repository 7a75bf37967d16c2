"""Leave one collection out: one fold trains on every collection but one and judges tumour detection
on the whole collection left out; the report is rewritten after every fold.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from mri.contract import find_no_tumor_label
from training.data import prepare_data
from training.evaluate import classification_metrics, per_group_metrics, predict_probabilities, tumor_detection_metrics
from training.fit import train_model
from training.folders import load_images, load_masks, scan_folders, sequence_of
from training.outline import dice_scores, dice_summary
from training.report import percent, score
from training.settings import DEFAULTS, settings_from
from training.split import TRAIN_ONLY_PATIENTS, patient_of

VALIDATION_KEYS = ("accuracy", "macro_f1", "tumor_sensitivity", "tumor_specificity", "tumor_roc_auc")


def fold_name(held_out: str) -> str:
    """A fold's name: its collection's folder name, or the names joined by "+" for several held out together."""
    return "+".join(Path(d).name for d in held_out.split(","))


def held_out_figures(model, labels: list[str], held_out: str, input_shape, cache_dir: str | None,
                     outline=None) -> dict:
    """Tumour detection on every image of one collection (or several, comma-joined), pooled and per
    sequence; with the fold's `outline` model, its Dice on every tumour slice with an expert mask.
    Files of TRAIN_ONLY_PATIENTS are never judged on: they may be the same people as another
    collection's."""
    records = [r for r in scan_folders(held_out.split(","), min_classes=1)
               if patient_of(r.path) not in TRAIN_ONLY_PATIENTS]
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
    if outline is not None:
        masks, has_mask = load_masks(kept, h, w)
        rows = has_mask & (y != labels.index(no_tumor))
        if summary := dice_summary(dice_scores(outline, pixels[rows], masks[rows])):
            figures["outline"] = summary
    return figures


# The flags a finished fold must share with the current run to be kept by --resume.
FOLD_SETTINGS = ("data", "model", "epochs", "max_minutes", "image_size", "channels", "batch_size", "learning_rate",
                 "class_weight", "intensity", "skull", "sampling", "seed", "paste_share", "outline_weight", "external")


def fold_settings(args) -> dict:
    return {k: getattr(args, k, None) for k in FOLD_SETTINGS}


def fold_file(held_out: str, args) -> Path:
    """A finished fold's figures, beside the report (reports/loco/<collection>.json), to be committed:
    `--resume` in a later session reads them from the checkout."""
    return Path(args.report).with_suffix("") / f"{fold_name(held_out)}.json"


def finished_fold(held_out: str, args) -> dict | None:
    """A fold's figures from an earlier run with the same settings, else None (it must run again)."""
    path = fold_file(held_out, args)
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    # A setting added since the fold ran counts as its default (what that fold trained with); one
    # retired since, as long as the fold left it off.
    recorded = saved.get("settings", {})
    kept = {k: recorded.get(k, getattr(DEFAULTS, k, None)) for k in FOLD_SETTINGS}
    retired_on = [k for k, v in recorded.items() if k not in FOLD_SETTINGS and v]
    if retired_on or kept != json.loads(json.dumps(fold_settings(args))):
        print(f"{path}: trained with other settings; running the fold again.", flush=True)
        return None
    return saved["fold"]


def fold_figures(model, data, labels: list[str], held_out: str, args, outline=None) -> dict:
    """A fold model judged on the collection left out, on the validation subset of the collections it
    trained on (split by near-duplicate group, as training.train) and on whole unseen collections: a
    method is judged on more than the one collection left out, never on a test subset."""
    figures = held_out_figures(model, labels, held_out, data.input_shape, args.cache_dir or None, outline)
    pixels, y = data.subset("validation")
    validation = classification_metrics(predict_probabilities(model, pixels), y, labels, find_no_tumor_label(labels))
    figures["validation"] = {k: validation[k] for k in VALIDATION_KEYS}
    figures["external"] = {Path(d).name: held_out_figures(model, labels, d, data.input_shape, args.cache_dir or None)
                           for d in args.external}
    return figures


def run_fold(held_out: str, data_dirs: list[str], labels: list[str], args) -> dict:
    """Train on every collection but `held_out` (the command's flags in `args`), judge on it."""
    train_dirs = [d for d in data_dirs if d not in held_out.split(",")]
    data = prepare_data(train_dirs, args.image_size, args.channels, args.seed, args.cache_dir or None, labels=labels)
    # Every epoch runs (no early stopping): folds compare collections at one training length. The
    # backup beside the fold figures lets a fold stopped mid-way resume in a later session.
    backup = Path(args.report).with_suffix("") / "partial" / fold_name(held_out)
    progress = backup / "training_metadata.json"   # Keras BackupAndRestore's: {"epoch": epochs finished}
    resumed = json.loads(progress.read_text())["epoch"] if progress.is_file() else 0
    if resumed:
        print(f"{fold_name(held_out)}: resuming after epoch {resumed} from {backup}", flush=True)
    settings = settings_from(args, patience=args.epochs, backup_dir=str(backup))
    model, history, seconds, outline = train_model(data, settings, verbose=2)
    fold_dir = Path(args.out) / fold_name(held_out)
    fold_dir.mkdir(parents=True, exist_ok=True)
    model.save(fold_dir / "model.h5", include_optimizer=False)
    if outline is not None:
        outline.save(fold_dir / "outline.h5", include_optimizer=False)
    figures = fold_figures(model, data, labels, held_out, args, outline)
    fold = {"held_out": fold_name(held_out), "trained_on": [Path(d).name for d in train_dirs],
            "training_images": int(sum(s == "train" for s in data.subsets)),
            "epochs_run": resumed + len(history["loss"]), "train_seconds": round(seconds, 1), **figures}
    # Written last: a fold stopped before this line has no figures file and runs again on --resume.
    fold_file(held_out, args).parent.mkdir(parents=True, exist_ok=True)
    fold_file(held_out, args).write_text(json.dumps({"settings": fold_settings(args), "fold": fold}, indent=2) + "\n")
    return fold


REPO = Path(__file__).resolve().parents[2]


def shown(value):
    """A path inside the repository as the reader's checkout names it (relative), anything else as is."""
    if isinstance(value, str) and Path(value).is_absolute() and Path(value).is_relative_to(REPO):
        return str(Path(value).relative_to(REPO))
    return value


def write_report(folds: list[dict], args, path: Path) -> None:
    lines = [
        "# Leave one collection out", "",
        "Each row: a model trained on every other collection (same split rules, augmentation and "
        "sampling as `training.train`), judged on **every image of the collection left out** "
        "(tumour probability ≥ 0.5). Rerun:", "",
        "```", "python -m training.loco " + " ".join(map(shown, sys.argv[1:])), "```", "",
        f"Every fold runs all {args.epochs} epochs (no early stopping"
        f"{f', at most {args.max_minutes:g} min' if args.max_minutes else ''}), "
        f"model `{args.model}`, intensity `{args.intensity}`, skull augmentation "
        f"{'on' if args.skull else 'off'}, sampling `{args.sampling}`, from scratch: folds shorter than the "
        "shipped training understate what it reaches; folds compare collections with each other, and methods "
        "run with the same flags.", "",
        "| held out | images (tumour / normal) | tumour sensitivity | specificity | ROC AUC | trained on | "
        "epochs | time |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for f in folds:
        auc = f.get("tumor_roc_auc")
        lines.append(f"| {f['held_out']} | {f['tumor_images'] + f['no_tumor_images']} ({f['tumor_images']} / "
                     f"{f['no_tumor_images']}) | {percent(f['tumor_sensitivity'])} | "
                     f"{percent(f['tumor_specificity'])} | "
                     f"{score(auc)} | {', '.join(f['trained_on'])} ({f['training_images']}) | "
                     f"{f['epochs_run']} | {f['train_seconds'] / 60:.0f} min |")
    lines += ["", "## Validation and unseen collections", "",
              "The same fold models on the validation subset of the collections they trained on (split by "
              "near-duplicate group, as `training.train`) and on every image of each `--external` collection "
              "(never trained on by any fold).", "",
              "| held out | validation accuracy | validation macro-F1 | validation sensitivity / specificity | "
              "validation ROC AUC | unseen: sensitivity / specificity (ROC AUC) |",
              "|---|---:|---:|---:|---:|---|"]
    for f in folds:
        v = f.get("validation", {})
        unseen = "; ".join(f"{name} {percent(e['tumor_sensitivity'])} / {percent(e['tumor_specificity'])} "
                           f"({score(e.get('tumor_roc_auc'))})" for name, e in f.get("external", {}).items()) or "–"
        lines.append(f"| {f['held_out']} | {percent(v.get('accuracy'))} | {score(v.get('macro_f1'))} | "
                     f"{percent(v.get('tumor_sensitivity'))} / {percent(v.get('tumor_specificity'))} | "
                     f"{score(v.get('tumor_roc_auc'))} | {unseen} |")
    with_sequences = [f for f in folds if f.get("per_sequence")]
    for f in with_sequences:
        lines += ["", f"## {f['held_out']} held out, per sequence", "",
                  "| sequence | images (tumour / normal) | tumour sensitivity | specificity | ROC AUC |",
                  "|---|---:|---:|---:|---:|"]
        for name, m in f["per_sequence"].items():
            auc = m.get("tumor_roc_auc")
            lines.append(f"| {name} | {m['n']} ({m['tumor_images']} / {m['no_tumor_images']}) | "
                         f"{percent(m['tumor_sensitivity'])} | {percent(m['tumor_specificity'])} | "
                         f"{score(auc)} |")
    outlined = [f for f in folds if f.get("outline")]
    if outlined:
        lines += ["", "## The tumour outline on the collection left out", "",
                  "Dice of the fold's outline head (`--outline-weight`; probability ≥ 0.5) against the expert "
                  "mask of every tumour slice of the held-out collection that has one: masks the fold never "
                  "trained on.", "",
                  "| held out | slices | mean Dice | median Dice | slices with Dice ≥ 0.6 |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {f['held_out']} | {f['outline']['slices']} | {f['outline']['mean_dice']:.3f} | "
                  f"{f['outline']['median_dice']:.3f} | {percent(f['outline']['share_at_least_0_6'])} |"
                  for f in outlined]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"settings": {k: shown(v) for k, v in vars(args).items()},
                                                     "folds": folds}, indent=2) + "\n")
