"""Tumour / no-tumour operating points of a trained model: sensitivity and specificity at several
tumour-probability thresholds, on the validation and test subsets of the same seeded split and on
collections absent from training, plus the threshold a target sensitivity would need, chosen on
validation only.

    python -m training.operating_points --model frontend/model/model.h5 \\
        --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        --external ../shared/data/brain-mri-yes-no --report reports/operating-points.md

The page and the API call a tumour at probability >= 0.5; this report shows what moving that
threshold would buy and cost, so nobody has to guess from a ROC AUC.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.compare import external_predictions
from training.evaluate import percent
from training.evaluate import load_with_split, tumor_detection_metrics, tumor_probability
from training.train import CACHE_DIR, SEED, find_no_tumor_label, predict_probabilities

THRESHOLDS = (0.5, 0.4, 0.3, 0.2, 0.1, 0.05)


def threshold_for_sensitivity(tumor_p: np.ndarray, is_tumor: np.ndarray, target: float) -> float:
    """The highest threshold at which at least `target` of the tumour images score >= it."""
    scores = np.sort(tumor_p[is_tumor])
    if not len(scores):
        raise ValueError("No tumour images to choose a threshold on.")
    return float(scores[int(np.floor((1.0 - target) * len(scores)))])


def collect(model, data, externals: list[str], cache_dir: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tumour probability and truth per evaluated set: validation, test, then each external collection."""
    no_tumor = find_no_tumor_label(data.labels)
    sets = {}
    for subset in ("validation", "test"):
        x, y = data.subset(subset)
        sets[subset] = (tumor_probability(predict_probabilities(model, x), data.labels, no_tumor),
                        y != data.labels.index(no_tumor))
    for directory in externals:
        tumor_p, is_tumor, _ = external_predictions(model, data, directory, cache_dir)
        sets[f"{Path(directory).name} (unseen)"] = (tumor_p, is_tumor)
    return sets


def write_report(sets: dict, chosen: float, target: float, command: str, path: Path) -> dict:
    rows = [(t, "") for t in THRESHOLDS] + [(chosen, f"chosen on validation for ≥ {100 * target:.0f} % sensitivity")]
    table = {"thresholds": [], "chosen_threshold": chosen, "target_sensitivity": target}
    lines = ["# Operating points: tumour-probability threshold", "", "Rerun:", "", "```", command, "```", "",
             "Sensitivity / specificity for tumour vs no tumour at each threshold. The page and the API use "
             "0.5. Sizes: " + ", ".join(f"{name} {int(t.sum())} tumour / {int((~t).sum())} normal"
                                        for name, (_, t) in sets.items()) + ".", "",
             "| threshold | " + " | ".join(sets) + " | |", "|---:|" + "---:|" * len(sets) + "---|"]
    for threshold, note in rows:
        metrics = {name: tumor_detection_metrics(p, t, threshold) for name, (p, t) in sets.items()}
        figures = {name: (m["tumor_sensitivity"], m["tumor_specificity"]) for name, m in metrics.items()}
        table["thresholds"].append({"threshold": threshold, "note": note,
                                    **{name: {"sensitivity": s, "specificity": c} for name, (s, c) in figures.items()}})
        lines.append(f"| {threshold:.3g} | " + " | ".join(f"{percent(s)} / {percent(c)}" for s, c in figures.values())
                     + f" | {note} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(table, indent=2) + "\n")
    return table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.operating_points", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model.h5 to evaluate (metadata.json beside it names its labels)")
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="the folders it was trained on (same split)")
    p.add_argument("--external", nargs="*", default=[], metavar="DIR", help="collections absent from training")
    p.add_argument("--target-sensitivity", type=float, default=0.97,
                   help="sensitivity the validation-chosen threshold must reach on validation (default 0.97)")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed of the split the model was trained on (default {SEED})")
    p.add_argument("--cache-dir", default=CACHE_DIR, help=f"decoded-image cache; '' disables (default {CACHE_DIR})")
    p.add_argument("--report", required=True, help="Markdown report path; JSON is written beside it")
    args = p.parse_args(argv)

    model, data = load_with_split(args.model, args.data, args.seed, args.cache_dir or None)
    sets = collect(model, data, args.external, args.cache_dir or None)
    chosen = threshold_for_sensitivity(*sets["validation"], args.target_sensitivity)
    command = "python -m training.operating_points " + " ".join(sys.argv[1:] if argv is None else argv)
    write_report(sets, chosen, args.target_sensitivity, command, Path(args.report))
    print(f"Wrote {args.report}; threshold for {args.target_sensitivity:.0%} validation sensitivity: {chosen:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
