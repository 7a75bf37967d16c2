"""Markdown reports of trained models: the comparison table, unseen collections, per collection and
per sequence figures, per class, links to the plots; and `percent` and `score`, the one way every
report prints a share and a score.
"""
from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

from training.data import PreparedData
from training.evaluate import TIE
from training.runs import library_versions


def percent(value) -> str:
    """A share as the reports print it: "97.3 %", or "–" when there is nothing to measure."""
    return "–" if value is None else f"{100 * value:.1f} %"


def score(value) -> str:
    """A ROC AUC or F1 score as the reports print it: "0.973", or "–" when there is nothing to measure."""
    return "–" if value is None else f"{value:.3f}"


def write_report(results: list[dict], winner: dict, data: PreparedData, args, seconds: float, path: Path,
                 figures_dir: Path, command: str) -> None:
    """Markdown report; `command` is the module whose command line (sys.argv) reruns it."""
    split = {s: sum(1 for x in data.subsets if x == s) for s in ("train", "validation", "test")}
    lines = [
        f"# {'Model comparison' if len(results) > 1 else 'Model: ' + results[0]['model']}: "
        f"{', '.join(Path(d).name for d in data.data_dirs)}",
        "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({platform.processor() or 'CPU'}, {os.cpu_count()} cores), TensorFlow "
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
        "| model | params | file | CPU ms/img (batch 1) | val macro-F1 | test accuracy | test macro-F1 | tumour "
        "sensitivity | "
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
            f"{r['accuracy_per_mb']:.2f} | {r['accuracy_per_ms']:.2f} | {r['epochs_run']} | "
            f"{r['train_seconds'] / 60:.1f} min |")
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
                             f"{percent(m.get('tumor_specificity'))} | {score(auc)} |")
    if winner.get("outline"):
        lines += ["", f"## `{winner['model']}` tumour outline (test subset)", "",
                  "Dice of the outline head (probability ≥ 0.5, drawn at a quarter of the input side in the frame "
                  "the classifier sees) against the expert mask, on each tumour slice of patients it never trained on.",
                  "", "| collection | tumour slices | mean Dice | median Dice | slices with Dice ≥ 0.6 |",
                  "|---|---:|---:|---:|---:|"]
        for name, m in winner["outline"].items():
            lines.append(f"| {name} | {m['slices']} | {score(m['mean_dice'])} | {score(m['median_dice'])} | "
                         f"{percent(m['share_at_least_0_6'])} |")
    t = winner["test"]
    chosen = (f"## Winner: `{winner['model']}`\n\nChosen by validation macro-F1 "
              f"({winner['validation_macro_f1']:.3f}; ties within {TIE} go to the smaller file, then the faster "
              "model). Per class on the test subset:") if len(results) > 1 else "## Per class on the test subset"
    lines += ["", chosen, "",
              "| class | precision | recall | F1 | images |", "|---|---:|---:|---:|---:|"]
    for label, m in t["per_class"].items():
        lines.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    def rel(p):
        return Path(p).relative_to(path.parent) if Path(p).is_relative_to(path.parent) else Path(p)

    lines += ["", "Confusion matrices (test subset):", ""]
    lines += [f"![{r['model']}]({rel(figures_dir / (r['model'] + '-confusion.png'))})" for r in results]
    lines += ["", "Training curves:", ""]
    lines += [f"![{r['model']}]({rel(figures_dir / (r['model'] + '-curves.png'))})" for r in results]
    compact = next((r for r in results if r["model"] == "compact"), None)
    paper = [r for r in results if r["model"] in ("cnn", "alexnet", "lenet")]
    if compact and paper:  # a comparison only when there is something to compare with
        them = "all three" if len(paper) == 3 else " and ".join(r["model"] for r in paper)
        def beats(key):
            return all(compact[key] > r[key] for r in paper)

        lines += ["", f"## The compact model against the paper's {'three' if len(paper) == 3 else 'models'}", "",
                  f"Accuracy per MB: {'beats' if beats('accuracy_per_mb') else 'does not beat'} {them}; "
                  f"accuracy per CPU millisecond: {'beats' if beats('accuracy_per_ms') else 'does not beat'} {them} "
                  "(Keras, batch 1, this CPU; at batch 1 per-layer overhead dominates small models, so LeNet's "
                  "few layers are hard to beat on milliseconds)."]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
