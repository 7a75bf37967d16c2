"""Deep feature reweighting: the validation halves, the balanced refit, and the command end to end."""
import json

import numpy as np

from training.last_layer import ABSENT_CLASS_BIAS, fit_last_layer, halve_validation


def test_validation_halves_split_whole_groups_and_cover_the_subset(image_folder):
    from training.data import prepare_data

    data = prepare_data([str(image_folder(per_class=30, size=32))], 32, 1, cache_dir=None)
    refit, check = halve_validation(data, seed=0)
    assert not set(refit) & set(check)
    assert sorted([*refit, *check]) == np.flatnonzero(data.mask("validation")).tolist()
    assert not set(data.groups[refit]) & set(data.groups[check])
    assert len(refit) and len(check)


def test_refit_weighs_every_collection_by_class_evenly_and_pins_absent_classes():
    rng = np.random.default_rng(0)
    # Collection "big" (900 images) says feature 0 means class 1; "small" (60) says feature 1 does.
    # Weighted evenly per collection x class, the small collection's rule must still be learned.
    big = rng.normal(0, 1, (900, 2)); big_y = (big[:, 0] > 0).astype(int)
    small = rng.normal(0, 1, (60, 2)); small_y = (small[:, 1] > 0).astype(int)
    features = np.vstack([big, small]).astype(np.float32)
    y = np.concatenate([big_y, small_y])
    strata = [f"big/{k}" for k in big_y] + [f"small/{k}" for k in small_y]
    groups = np.arange(len(y))
    kernel, bias, c = fit_last_layer(features, y, strata, groups, classes=3, seed=0)
    assert kernel.shape == (2, 3) and bias.shape == (3,)
    logit = kernel[:, 1] - kernel[:, 0]
    # Plain pooling would weigh feature 0 fifteen times more; even weighting makes them comparable.
    assert logit[1] > 0.5 * logit[0] > 0
    assert bias[2] == ABSENT_CLASS_BIAS and not kernel[:, 2].any()


def test_command_refits_only_the_classifier_and_reports_before_and_after(image_folder, tmp_path):
    from mri.layers import load_model
    from training.models import create_model
    from training.retrain_last_layer import main

    data = image_folder(per_class=40, size=32, seed=1)
    unseen = image_folder(per_class=6, size=32, seed=5, name="unseen")
    model = create_model("lenet", (32, 32, 1), 2)
    model.save(tmp_path / "model.h5", include_optimizer=False)
    report = tmp_path / "dfr.md"
    assert main(["--model", str(tmp_path / "model.h5"), "--data", str(data), "--judge", str(unseen),
                 "--out", str(tmp_path / "out"), "--report", str(report), "--cache-dir", ""]) == 0
    before, after = load_model(str(tmp_path / "model.h5")), load_model(str(tmp_path / "out" / "model.h5"))
    for a, b in zip(before.layers, after.layers):
        same = all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
        assert same == (a.name != "probabilities"), a.name
    saved = json.loads(report.with_suffix(".json").read_text())
    assert saved["after"]["collections"]["unseen"]["tumor_images"] == 6
    assert saved["fitted"]["refit_images"] + saved["fitted"]["check_images"] > 0
    text = report.read_text()
    assert "python -m training.retrain_last_layer" in text and "| unseen |" in text
