"""Tumour / no-tumour operating points: sensitivity and specificity at several tumour-probability
thresholds, and the threshold a target sensitivity needs, chosen on validation only.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from training.contract import find_no_tumor_label
from training.evaluate import external_predictions, predict_probabilities, tumor_detection_metrics, tumor_probability
from training.report import percent

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
