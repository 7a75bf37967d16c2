"""Tumour / no-tumour operating points: sensitivity and specificity at several tumour-probability
thresholds, the threshold a target sensitivity needs, chosen on validation only, and the page's
middle result level: its lower cut-off, what it holds, and where the page reads it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from training.evaluate import external_predictions, predict_probabilities, tumor_detection_metrics, tumor_probability
from training.report import percent

THRESHOLDS = (0.5, 0.4, 0.3, 0.2, 0.1, 0.05)
TUMOR_THRESHOLD = 0.5  # the page's "tumour likely" and the API's tumour call


def threshold_for_sensitivity(tumor_p: np.ndarray, is_tumor: np.ndarray, target: float) -> float:
    """The highest threshold at which at least `target` of the tumour images score >= it."""
    scores = np.sort(tumor_p[is_tumor])
    if not len(scores):
        raise ValueError("No tumour images to choose a threshold on.")
    return float(scores[int(np.floor((1.0 - target) * len(scores)))])


def threshold_for_missed_share(tumor_p: np.ndarray, is_tumor: np.ndarray, share: float) -> float:
    """The highest threshold t whose band [t, 0.5) holds at least `share` of the tumour images that
    the 0.5 cut-off misses: the middle level must catch a real part of them to mean anything."""
    missed = np.sort(tumor_p[is_tumor & (tumor_p < TUMOR_THRESHOLD)])[::-1]
    if not len(missed):
        return TUMOR_THRESHOLD
    return float(missed[int(np.ceil(share * len(missed))) - 1])


def band_counts(sets: dict, possible: float) -> dict:
    """Per set: tumours the 0.5 cut-off misses, how many of them score in [possible, 0.5), and
    the normal scans in that band (what the middle level flags for a closer look)."""
    counts = {}
    for name, (tumor_p, is_tumor) in sets.items():
        in_band = (tumor_p >= possible) & (tumor_p < TUMOR_THRESHOLD)
        counts[name] = {"missed": int((is_tumor & (tumor_p < TUMOR_THRESHOLD)).sum()),
                        "missed_in_band": int((is_tumor & in_band).sum()),
                        "normal": int((~is_tumor).sum()), "normal_in_band": int((~is_tumor & in_band).sum())}
    return counts


def possible_rule(share: float) -> str:
    return (f"highest threshold whose band below {TUMOR_THRESHOLD:g} holds {share:.0%} of the validation subset's "
            f"tumours that {TUMOR_THRESHOLD:g} misses")


def write_decision(metadata_path: Path, possible: float, share: float) -> None:
    """Records the page's cut-offs in the model's metadata.json, keeping every other field."""
    metadata = json.loads(metadata_path.read_text())
    metadata["decision"] = {"tumor_threshold": TUMOR_THRESHOLD, "possible_threshold": round(possible, 4),
                            "possible_rule": possible_rule(share)}
    metadata_path.write_text(json.dumps(metadata, indent=2) + "\n")


def collect(model, data, externals: list[str], cache_dir: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tumour probability and truth per evaluated set: validation, test, then each external collection."""
    no_tumor = data.no_tumor_label
    sets = {}
    for subset in ("validation", "test"):
        x, y = data.subset(subset)
        sets[subset] = (tumor_probability(predict_probabilities(model, x), data.labels, no_tumor),
                        y != data.labels.index(no_tumor))
    for directory in externals:
        tumor_p, is_tumor, _ = external_predictions(model, data, directory, cache_dir)
        sets[f"{Path(directory).name} (unseen)"] = (tumor_p, is_tumor)
    return sets


def write_report(sets: dict, chosen: float, target: float, possible: float, share: float, command: str,
                 path: Path) -> dict:
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
    table["possible_threshold"] = possible
    table["levels"] = band_counts(sets, possible)
    lines += ["", "## Result levels on the page", "",
              f"The page says \"Tumour likely\" at tumour probability ≥ {TUMOR_THRESHOLD:g}, \"Possible tumour: look "
              f"closely\" from {possible:.3g} to below {TUMOR_THRESHOLD:g}, and \"No tumour found\" below that. "
              f"{possible:.3g} is the {possible_rule(share)}: the middle level means something only if it "
              "catches a real part of what the upper cut-off misses, and the price is the normal scans it flags. "
              "What the middle band holds, per set:", "",
              "| set | tumours missed at 0.5 | of them in the band | normal scans | of them in the band |",
              "|---|---:|---:|---:|---:|"]
    for name, counts in table["levels"].items():
        lines.append(f"| {name} | {counts['missed']} | {counts['missed_in_band']} | {counts['normal']} | "
                     f"{counts['normal_in_band']} ({percent(counts['normal_in_band'] / max(counts['normal'], 1))}) |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(table, indent=2) + "\n")
    return table
