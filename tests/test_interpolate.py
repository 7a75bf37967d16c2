"""Blending two models of one architecture (training.interpolate): the ends are the two models,
a point between is the weighted mean of every weight, batch-norm statistics included."""
import keras
import numpy as np
import pytest

from mri.layers import load_model
from training.interpolate.__main__ import main
from training.interpolate.blend import interpolate
from training.models import create_model


def _compact(seed):
    keras.utils.set_random_seed(seed)
    model = create_model("compact", (64, 64, 1), 3)
    # Distinct batch-norm statistics, so the test sees them blended too.
    model.set_weights([w + np.float32(seed) if "moving" in v.path else w
                       for w, v in zip(model.get_weights(), model.weights)])
    return model


def test_the_blend_is_the_weighted_mean_of_every_weight():
    start, tuned = _compact(1), _compact(2)
    a, b = start.get_weights(), tuned.get_weights()
    blend = interpolate(start, tuned, 0.25)
    assert any("moving_mean" in v.path for v in blend.weights)
    for w, x, y in zip(blend.get_weights(), a, b):
        np.testing.assert_allclose(w, 0.75 * x + 0.25 * y, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_the_ends_are_the_two_models(alpha):
    start, tuned = _compact(1), _compact(2)
    expected = (start if alpha == 0.0 else tuned).get_weights()
    for w, e in zip(interpolate(start, tuned, alpha).get_weights(), expected):
        np.testing.assert_allclose(w, e, rtol=1e-6, atol=1e-6)


def test_models_of_two_architectures_are_refused():
    with pytest.raises(ValueError, match="architecture"):
        interpolate(_compact(1), create_model("lenet", (64, 64, 1), 3), 0.5)


def test_the_command_saves_a_blend_that_loads_and_answers_between(tmp_path):
    start, tuned = _compact(1), _compact(2)
    start.save(tmp_path / "start.h5", include_optimizer=False)
    tuned.save(tmp_path / "tuned.h5", include_optimizer=False)
    assert main(["--start", str(tmp_path / "start.h5"), "--tuned", str(tmp_path / "tuned.h5"),
                 "--alpha", "0.5", "--out", str(tmp_path / "blend")]) == 0
    blend = load_model(str(tmp_path / "blend" / "model.h5"))
    for w, x, y in zip(blend.get_weights(), start.get_weights(), tuned.get_weights()):
        np.testing.assert_allclose(w, 0.5 * (x + y), rtol=1e-5, atol=1e-5)


def test_alpha_outside_zero_one_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        main(["--start", "a.h5", "--tuned", "b.h5", "--alpha", "1.5", "--out", str(tmp_path)])


def test_blends_are_judged_on_the_validation_subset_against_the_start(image_folder, tmp_path, capsys):
    from training.data import prepare_data
    from training.evaluate import classification_metrics, predict_probabilities
    from training.interpolate.blend import judge_on_validation
    from training.split import write_split_csv

    folders = [str(image_folder(per_class=10, size=32, seed=s, name=f"coll-{s}")) for s in (1, 2)]
    data = prepare_data(folders, 32, 1, cache_dir=None)
    for seed, name in ((1, "start"), (2, "tuned")):
        keras.utils.set_random_seed(seed)
        create_model("compact", (32, 32, 1), 2).save(tmp_path / f"{name}.h5", include_optimizer=False)
    start, tuned = str(tmp_path / "start.h5"), str(tmp_path / "tuned.h5")
    rows = judge_on_validation(load_model(start), load_model(tuned), [1.0, 0.0, 0.5], data)
    assert [r["alpha"] for r in rows] == [0.0, 0.5, 1.0]
    x_val, y_val = data.subset("validation")
    direct = classification_metrics(predict_probabilities(load_model(start), x_val), y_val, data.labels, "notumor")
    assert rows[0]["macro_f1"] == pytest.approx(direct["macro_f1"]) and rows[0]["falls"] == []
    write_split_csv(tmp_path / "split.csv", data.records, data.groups, data.subsets)
    assert main(["--start", start, "--tuned", tuned, "--judge", "0", "1", "--data", *folders,
                 "--split-from", str(tmp_path / "split.csv")]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert table[0].startswith("| alpha | val accuracy") and len(table) == 4
    assert table[2].startswith("| 0 | ") and table[2].endswith("| none |")
