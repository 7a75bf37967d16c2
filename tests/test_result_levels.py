"""The page's result levels as training.operating_points chooses and records them (the library:
training.operating_points.thresholds): the middle band's lower cut-off from the validation tumours
the upper one misses, what the band holds, and metadata.json's "decision" written without touching anything else."""
from __future__ import annotations

import json

import numpy as np

from training.operating_points.thresholds import (
    TUMOR_THRESHOLD,
    band_counts,
    threshold_for_missed_share,
    write_decision,
)


def test_the_middle_band_holds_the_asked_share_of_missed_tumours():
    rng = np.random.default_rng(1)
    tumor_p = rng.random(2000)
    is_tumor = rng.random(2000) < 0.5
    missed = is_tumor & (tumor_p < TUMOR_THRESHOLD)
    for share in (0.34, 0.5, 0.9):
        t = threshold_for_missed_share(tumor_p, is_tumor, share)
        held = (missed & (tumor_p >= t)).sum() / missed.sum()
        assert held >= share
        # The highest such threshold: just above it the band holds less than the share.
        assert (missed & (tumor_p > t)).sum() / missed.sum() < share
    assert threshold_for_missed_share(np.array([0.9, 0.2]), np.array([True, False]), 0.34) == TUMOR_THRESHOLD


def test_band_counts_what_the_middle_level_catches_and_flags():
    tumor_p = np.array([0.9, 0.45, 0.35, 0.1, 0.6, 0.4, 0.3, 0.05])
    is_tumor = np.array([True, True, True, True, False, False, False, False])
    counts = band_counts({"test": (tumor_p, is_tumor)}, possible=0.32)
    assert counts["test"] == {"missed": 3, "missed_in_band": 2, "normal": 4, "normal_in_band": 1}


def test_write_decision_keeps_the_rest_of_metadata(tmp_path):
    path = tmp_path / "metadata.json"
    metadata = {"labels": ["glioma", "notumor"], "no_tumor_label": "notumor", "metrics": {"test": {"n": 3}}}
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    write_decision(path, 0.28861, 0.34)
    written = json.loads(path.read_text())
    assert written.pop("decision") == {"tumor_threshold": TUMOR_THRESHOLD, "possible_threshold": 0.2886,
                                       "possible_rule": "highest threshold whose band below 0.5 holds 34% of the "
                                                        "validation subset's tumours that 0.5 misses"}
    assert written == metadata
