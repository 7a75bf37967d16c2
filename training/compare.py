"""Train every registered model on one leak-free split, compare them on the held-out test subset
(and on whole collections they never saw), pick the winner by validation macro-F1, and ship it.

    python -m training.compare --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        --external ../shared/data/brain-mri-yes-no --out runs/compare --report reports/comparison.md \\
        --ship frontend/model
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from training.evaluate import percent
from training.train import (BATCH_SIZE, CACHE_DIR, CHANNELS, EPOCHS, IMAGE_SIZE, LEARNING_RATE, SEED,
                            PreparedData, build_metadata, find_no_tumor_label, predict_probabilities,
                            prepare_data, save_run, train_model)

# Two validation macro-F1 scores closer than this are a tie, broken by file size, then speed.
TIE = 0.005


def external_predictions(model, data: PreparedData, external_dir: str, cache_dir: str | None):
    """Tumour probability, truth and "has a near-twin in our training data" for every image of a
    collection absent from training (its no-tumour class by name; every other class is a tumour)."""
    from training.data import NEAR_DUPLICATE_CORRELATION, load_images, scan_folders, thumbnail_similarity
    from training.evaluate import tumor_probability

    records = scan_folders([external_dir])
    ext_no_tumor = find_no_tumor_label(sorted({r.label for r in records}))
    h, w, c = data.input_shape
    pixels, thumbs, _, kept = load_images(records, h, w, c, cache_dir)
    tumor_p = tumor_probability(predict_probabilities(model, pixels), data.labels, find_no_tumor_label(data.labels))
    is_tumor = np.array([r.label != ext_no_tumor for r in kept])
    # Near-twins of training images (any collection): the split's own thumbnail rule.
    twin = thumbnail_similarity(thumbs, data.thumbnails[data.mask("train")]).max(axis=1) >= NEAR_DUPLICATE_CORRELATION
    return tumor_p, is_tumor, twin


def external_check(model, data: PreparedData, external_dir: str, cache_dir: str | None) -> dict:
    """Tumour detection on a collection absent from training: sensitivity on its tumour class(es),
    specificity on its no-tumour class. Images with a near-twin in the training data are counted
    and also left out in a second figure, so an overlap between collections cannot flatter us."""
    from training.evaluate import tumor_detection_metrics

    tumor_p, is_tumor, twin = external_predictions(model, data, external_dir, cache_dir)
    result = {"data": str(external_dir), **tumor_detection_metrics(tumor_p, is_tumor)}
    result["near_twins_in_training"] = int(twin.sum())
    if twin.any():
        result["without_twins"] = tumor_detection_metrics(tumor_p[~twin], is_tumor[~twin])
    return result


def evaluate_model(name: str, model, data: PreparedData, history: dict, seconds: float, run_dir: Path,
                   externals: list[str], cache_dir: str | None) -> dict:
    from training.evaluate import classification_metrics, cpu_ms_per_image, per_group_metrics, plot_confusion

    no_tumor = find_no_tumor_label(data.labels)
    x_val, y_val = data.subset("validation")
    x_test, y_test = data.subset("test")
    validation = classification_metrics(predict_probabilities(model, x_val), y_val, data.labels, no_tumor)
    test_p = predict_probabilities(model, x_test)
    test = classification_metrics(test_p, y_test, data.labels, no_tumor)
    test_sources = data.collections("test")
    if len(set(test_sources)) > 1:
        test["per_collection"] = per_group_metrics(test_p, y_test, test_sources, data.labels, no_tumor)
    test_sequences = data.sequences("test")
    if set(test_sequences) - {"unknown"}:
        test["per_sequence"] = per_group_metrics(test_p, y_test, test_sequences, data.labels, no_tumor)
    plot_confusion(test["confusion_matrix"], data.labels, f"{name}: test subset", str(run_dir / "confusion.png"))
    result = {
        "model": name,
        "parameters": int(model.count_params()),
        "file_bytes": (run_dir / "model.h5").stat().st_size,
        "cpu_ms_per_image": cpu_ms_per_image(model, data.input_shape),
        "train_seconds": round(seconds, 1),
        "epochs_run": len(history.get("loss", [])),
        "validation_macro_f1": validation["macro_f1"],
        "test": test,
        "external": [external_check(model, data, d, cache_dir) for d in externals] if no_tumor else [],
    }
    result["accuracy_per_mb"] = test["accuracy"] / (result["file_bytes"] / 1e6)
    result["accuracy_per_ms"] = test["accuracy"] / result["cpu_ms_per_image"]
    (run_dir / "confusion.json").write_text(json.dumps(
        {"labels": data.labels, "test": test["confusion_matrix"]}, indent=2) + "\n")
    return result


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


def metadata_metrics(result: dict, report: Path | None) -> dict:
    """The held-out figures metadata.json carries (the model card reads them)."""
    return {"test": result["test"], "validation_macro_f1": result["validation_macro_f1"],
            "external": result["external"], "cpu_ms_per_image": result["cpu_ms_per_image"],
            "report": str(report) if report else None}


def ship_run(run_dir: Path, ship_dir: Path) -> None:
    """Copy a run's model.h5 and metadata.json to where the page and the server read them."""
    ship_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "model.h5", ship_dir / "model.h5")
    shutil.copy(run_dir / "metadata.json", ship_dir / "metadata.json")
    print(f"Shipped {run_dir} to {ship_dir}; run `python -m convert` to refresh the TF.js files.")


def pick_winner(results: list[dict]) -> dict:
    """Best validation macro-F1; within TIE of the best, the smallest file, then the fastest."""
    best = max(r["validation_macro_f1"] for r in results)
    contenders = [r for r in results if r["validation_macro_f1"] >= best - TIE]
    return min(contenders, key=lambda r: (r["file_bytes"], r["cpu_ms_per_image"]))



def write_report(results: list[dict], winner: dict, data: PreparedData, args, seconds: float, path: Path,
                 figures_dir: Path, command: str) -> None:
    """Markdown report; `command` is the module whose command line (sys.argv) reruns it."""
    from training.train import library_versions

    split = {s: sum(1 for x in data.subsets if x == s) for s in ("train", "validation", "test")}
    lines = [
        f"# {'Model comparison' if len(results) > 1 else 'Model: ' + results[0]['model']}: "
        f"{', '.join(Path(d).name for d in data.data_dirs)}",
        "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({platform.processor() or 'CPU'}, {__import__('os').cpu_count()} cores), TensorFlow "
        f"{library_versions()['tensorflow']}, Keras {library_versions()['keras']}; "
        f"{'whole comparison' if len(results) > 1 else 'training and evaluation'} "
        f"{seconds / 60:.1f} min wall time. Rerun:",
        "",
        "```",
        f"python -m {command} " + " ".join(sys.argv[1:]),
        "```",
        "",
        f"**Data**: {len(data.records)} images ({', '.join(f'{k} {v}' for k, v in split.items())}), "
        f"{len(set(data.groups.tolist()))} near-duplicate groups. The split is by group, so no scan, "
        "re-encoded copy, mirrored copy, neighbouring slice or patient is on two sides; `split.csv` "
        "beside each model lists every file's group and subset. All figures below are on the **test "
        "subset** unless they say otherwise; the winner is chosen on the validation subset only.",
        "",
        "| model | params | file | CPU ms/img (batch 1) | val macro-F1 | test accuracy | test macro-F1 | tumour sensitivity | "
        "specificity | ROC AUC | ECE | acc / MB | acc / ms | epochs | train time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t = r["test"]
        lines.append(
            f"| {'**' + r['model'] + '**' if r is winner else r['model']} | {r['parameters']:,} | "
            f"{r['file_bytes'] / 1e6:.2f} MB | {r['cpu_ms_per_image']:.2f} | {r['validation_macro_f1']:.3f} | "
            f"{percent(t['accuracy'])} | {t['macro_f1']:.3f} | {percent(t.get('tumor_sensitivity'))} | "
            f"{percent(t.get('tumor_specificity'))} | {t.get('tumor_roc_auc') or 0:.3f} | {t['ece']:.3f} | "
            f"{r['accuracy_per_mb']:.2f} | {r['accuracy_per_ms']:.2f} | {r['epochs_run']} | {r['train_seconds'] / 60:.1f} min |")
    if any(r["external"] for r in results):
        lines += ["", "## Collections never seen in training", "",
                  "Tumour detection (tumour probability ≥ 0.5) on whole collections from other sources: the "
                  "test of whether a model learned tumours or only the look of the collections it was trained on.",
                  "", "| model | data | tumour sensitivity | specificity | ROC AUC | near-twins of training images | "
                  "without them: sensitivity / specificity |", "|---|---|---:|---:|---:|---:|---:|"]
        for r in results:
            for e in r["external"]:
                w = e.get("without_twins")
                lines.append(
                    f"| {r['model']} | {Path(e['data']).name} ({e['tumor_images']} tumour, {e['no_tumor_images']} "
                    f"normal) | {percent(e['tumor_sensitivity'])} | {percent(e['tumor_specificity'])} | "
                    f"{e['tumor_roc_auc'] or 0:.3f} | {e['near_twins_in_training']} | "
                    f"{(percent(w['tumor_sensitivity']) + ' / ' + percent(w['tumor_specificity'])) if w else '–'} |")
    for key, title, note in (
            ("per_collection", "per source collection", "A pooled figure can hide a collection the model "
             "handles worse; here each one alone."),
            ("per_sequence", "per MRI sequence", "Where the file or its collection names the sequence (BraTS: "
             "all four per patient; LGG: FLAIR; the Alzheimer and OpenNeuro sets: T1); `unknown` is the "
             "4-class set, a mix of mostly T1 with contrast, T2 and FLAIR.")):
        if winner["test"].get(key):
            lines += ["", f"## `{winner['model']}` {title} (test subset)", "", note, "",
                      f"| {key.split('_')[1]} | images (tumour / normal) | accuracy | tumour sensitivity | "
                      "specificity | ROC AUC |", "|---|---:|---:|---:|---:|---:|"]
            for name, m in winner["test"][key].items():
                auc = m.get("tumor_roc_auc")
                lines.append(f"| {name} | {m['n']} ({m.get('tumor_images', '–')} / {m.get('no_tumor_images', '–')}) | "
                             f"{percent(m['accuracy'])} | {percent(m.get('tumor_sensitivity'))} | "
                             f"{percent(m.get('tumor_specificity'))} | {'–' if auc is None else f'{auc:.3f}'} |")
    t = winner["test"]
    chosen = (f"## Winner: `{winner['model']}`\n\nChosen by validation macro-F1 "
              f"({winner['validation_macro_f1']:.3f}; ties within {TIE} go to the smaller file, then the faster "
              "model). Per class on the test subset:") if len(results) > 1 else "## Per class on the test subset"
    lines += ["", chosen, "",
              "| class | precision | recall | F1 | images |", "|---|---:|---:|---:|---:|"]
    for label, m in t["per_class"].items():
        lines.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    rel = lambda p: Path(p).relative_to(path.parent) if Path(p).is_relative_to(path.parent) else Path(p)
    lines += ["", "Confusion matrices (test subset):", ""]
    lines += [f"![{r['model']}]({rel(figures_dir / (r['model'] + '-confusion.png'))})" for r in results]
    lines += ["", "Training curves:", ""]
    lines += [f"![{r['model']}]({rel(figures_dir / (r['model'] + '-curves.png'))})" for r in results]
    compact = next((r for r in results if r["model"] == "compact"), None)
    if compact:
        paper = [r for r in results if r["model"] in ("cnn", "alexnet", "lenet")]
        beats_mb = all(compact["accuracy_per_mb"] > r["accuracy_per_mb"] for r in paper)
        beats_ms = all(compact["accuracy_per_ms"] > r["accuracy_per_ms"] for r in paper)
        lines += ["", "## The compact model against the paper's three", "",
                  f"Accuracy per MB: {'beats all three' if beats_mb else 'does not beat all three'}; "
                  f"accuracy per CPU millisecond: {'beats all three' if beats_ms else 'does not beat all three'} "
                  "(Keras, batch 1, this CPU; at batch 1 per-layer overhead dominates small models, so LeNet's "
                  "few layers are hard to beat on milliseconds)."]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def parse_args(argv=None):
    from training.models import list_models

    p = argparse.ArgumentParser(prog="python -m training.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="folders of class folders, merged by class name")
    p.add_argument("--out", required=True, help="folder for one sub-folder per model (model.h5, metadata.json, curves, split.csv)")
    p.add_argument("--models", nargs="+", default=list_models(), choices=list_models(), help="models to compare (default: all registered)")
    p.add_argument("--external", nargs="*", default=[], metavar="DIR",
                   help="folders of a collection absent from --data, to measure tumour detection on unseen sources")
    p.add_argument("--report", default=None, help="Markdown report path (default: OUT/comparison.md); JSON is written beside it")
    p.add_argument("--ship", default=None, metavar="DIR", help="copy the winner's model.h5 and metadata.json here (e.g. frontend/model)")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"maximum epochs per model (default {EPOCHS})")
    p.add_argument("--max-minutes", type=float, default=None, help="time budget per model in minutes (checked after each epoch)")
    p.add_argument("--image-size", type=int, default=IMAGE_SIZE, help=f"input height and width (default {IMAGE_SIZE})")
    p.add_argument("--channels", type=int, default=CHANNELS, choices=(1, 3), help=f"1 grayscale, 3 RGB (default {CHANNELS})")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"batch size (default {BATCH_SIZE})")
    p.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help=f"Adam learning rate (default {LEARNING_RATE})")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed for split, weights, augmentation (default {SEED})")
    p.add_argument("--cache-dir", default=CACHE_DIR, help=f"decoded-image cache; '' disables (default {CACHE_DIR})")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.monotonic()
    cache = args.cache_dir or None
    out = Path(args.out)
    report = Path(args.report) if args.report else out / "comparison.md"
    figures = report.parent / report.stem
    data = prepare_data(args.data, args.image_size, args.channels, args.seed, cache)
    settings = {k: v for k, v in vars(args).items() if k in ("epochs", "max_minutes", "image_size", "channels",
                                                             "batch_size", "learning_rate", "seed")}
    results = []
    for name in args.models:
        print(f"\n=== {name} ===", flush=True)
        model, history, seconds = train_model(name, data, args.epochs, args.batch_size, args.learning_rate,
                                              args.seed, args.max_minutes, verbose=2)
        result = save_and_evaluate(name, model, data, history, seconds, settings, out / name, args.external,
                                   cache, report)
        results.append(result)
        print(f"{name}: test accuracy {result['test']['accuracy']:.4f}, macro-F1 {result['test']['macro_f1']:.4f}, "
              f"{result['file_bytes'] / 1e6:.2f} MB, {result['cpu_ms_per_image']:.2f} ms/img", flush=True)
    winner = pick_winner(results)
    seconds = time.monotonic() - start
    write_report(results, winner, data, args, seconds, report, figures, "training.compare")
    report.with_suffix(".json").write_text(json.dumps(
        {"winner": winner["model"], "seconds": round(seconds, 1), "data": args.data, "results": results}, indent=2) + "\n")
    # The split travels with the report so anyone can audit it or evaluate on the same test subset.
    shutil.copy(out / winner["model"] / "split.csv", figures / "split.csv")
    print(f"Winner: {winner['model']}; report {report}")
    if args.ship:
        ship_run(out / winner["model"], Path(args.ship))
    return 0


if __name__ == "__main__":
    sys.exit(main())
