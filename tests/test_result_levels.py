"""The page's result levels as training.operating_points chooses and records them (the library:
training.operating_points.thresholds): the middle band's lower cut-off from the validation normals, what the band
holds, and metadata.json's "decision" written without touching anything else."""
from __future__ import annotations

import json

import numpy as np

from training.operating_points.thresholds import TUMOR_THRESHOLD, band_counts, threshold_for_specificity, write_decision


def test_the_lower_cut_off_clears_the_asked_share_of_normal_scans():
    rng = np.random.default_rng(0)
    tumor_p = rng.random(1000)
    is_tumor = rng.random(1000) < 0.4
    for target in (0.9, 0.95, 0.99):
        t = threshold_for_specificity(tumor_p, is_tumor, target)
        cleared = (tumor_p[~is_tumor] < t).mean()
        assert cleared >= target
        # The lowest such threshold: one normal scan fewer cleared and the target is missed.
        assert (tumor_p[~is_tumor] < np.sort(tumor_p[~is_tumor])[int(np.ceil(target * (~is_tumor).sum())) - 1]).mean() < target


def test_band_counts_what_the_middle_level_catches_and_flags():
    tumor_p = np.array([0.9, 0.45, 0.35, 0.1, 0.6, 0.4, 0.3, 0.05])
    is_tumor = np.array([True, True, True, True, False, False, False, False])
    counts = band_counts({"test": (tumor_p, is_tumor)}, possible=0.32)
    assert counts["test"] == {"missed": 3, "missed_in_band": 2, "normal": 4, "normal_in_band": 1}


def test_write_decision_keeps_the_rest_of_metadata(tmp_path):
    path = tmp_path / "metadata.json"
    metadata = {"labels": ["glioma", "notumor"], "no_tumor_label": "notumor", "metrics": {"test": {"n": 3}}}
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    write_decision(path, 0.28861, 0.95)
    written = json.loads(path.read_text())
    assert written.pop("decision") == {"tumor_threshold": TUMOR_THRESHOLD, "possible_threshold": 0.2886,
                                       "possible_rule": "lowest threshold that clears 95% of the validation "
                                                        "subset's normal scans"}
    assert written == metadata
