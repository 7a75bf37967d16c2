"""Weight averaging (--average-from): the mean of the last epochs' weights, kept across a resume,
batch-norm statistics measured again, and a LOCO fold judged with and without it."""
import json

import keras
import numpy as np

from mri.layers import load_model
from training.fit import WeightAverage, refresh_batch_norm


def _dense():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def _epochs(callback, model, values, first=0):
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values, start=first):
        model.set_weights([np.full(w.shape, value, np.float32) for w in model.get_weights()])
        callback.on_epoch_end(epoch)


def test_the_mean_covers_the_epochs_after_the_start_and_the_model_takes_it(tmp_path):
    model = _dense()
    average = WeightAverage(start=2, classifier=model, folder=str(tmp_path))
    _epochs(average, model, [100.0, 100.0, 1.0, 2.0, 6.0])
    average.on_train_end()
    assert all(np.allclose(w, 3.0) for w in model.get_weights())
    assert all(np.allclose(w, 6.0) for w in average.last)      # the classifier before averaging


def test_a_resumed_run_keeps_the_mean_and_counts_no_epoch_twice(tmp_path):
    model = _dense()
    _epochs(WeightAverage(1, model, str(tmp_path)), model, [100.0, 1.0, 2.0])   # killed after epoch 3
    resumed = WeightAverage(1, model, str(tmp_path))
    _epochs(resumed, model, [2.0, 6.0], first=2)      # epoch 3 again (its backup was older), then 4
    resumed.on_train_end()
    assert all(np.allclose(w, 3.0) for w in model.get_weights())


def test_batch_norm_statistics_are_measured_again_on_the_images():
    inputs = keras.Input((4, 4, 2))
    x = keras.layers.Conv2D(3, 1)(inputs)
    model = keras.Model(inputs, keras.layers.BatchNormalization()(x))
    images = [np.random.default_rng(i).normal(5.0, 2.0, (8, 4, 4, 2)).astype(np.float32) for i in range(3)]
    refresh_batch_norm(model, images)
    features = np.concatenate([keras.Model(inputs, x)(b).numpy().reshape(-1, 3) for b in images])
    norm = model.layers[-1]
    np.testing.assert_allclose(norm.moving_mean.numpy(), features.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(norm.moving_variance.numpy(), features.var(0), rtol=1e-3, atol=1e-4)


def test_a_loco_fold_with_averaging_and_mix_style_reports_the_same_run_before_averaging(image_folder, tmp_path):
    from training.loco.__main__ import main

    a = image_folder(per_class=10, size=32, seed=1, name="coll-a")
    b = image_folder(per_class=10, size=32, seed=2, name="coll-b")
    report = tmp_path / "loco.md"
    args = ["--data", str(a), str(b), "--hold-out", str(a), "--out", str(tmp_path / "runs"), "--report", str(report),
            "--epochs", "2", "--image-size", "32", "--batch-size", "8", "--cache-dir", "", "--average-from", "0.5",
            "--mix-style", "0.5"]
    assert main(args) == 0
    fold = json.loads(report.with_suffix(".json").read_text())["folds"][0]
    before = fold["unaveraged"]
    assert before["tumor_images"] == fold["tumor_images"] == 10
    assert set(before["validation"]) >= {"accuracy", "tumor_roc_auc"}
    assert "| coll-a | averaged |" in report.read_text() and "| coll-a | before |" in report.read_text()
    saved = load_model(str(tmp_path / "runs" / "coll-a" / "model.h5"))   # the page's layers alone
    assert not any(type(layer).__name__ == "MixStyle" for layer in saved.layers)


def test_a_fold_finished_before_a_setting_existed_is_kept_when_the_setting_is_its_default(tmp_path):
    from training.loco.__main__ import parse_args
    from training.loco.folds import finished_fold, fold_file, fold_settings

    args = parse_args(["--data", str(tmp_path / "a"), str(tmp_path / "b"), "--out", "x",
                       "--report", str(tmp_path / "loco.md")])
    older = {k: v for k, v in json.loads(json.dumps(fold_settings(args))).items() if k != "average_from"}
    path = fold_file(str(tmp_path / "a"), args)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"settings": older, "fold": {"held_out": "a"}}))
    assert finished_fold(str(tmp_path / "a"), args) == {"held_out": "a"}
    args.average_from = 0.5
    assert finished_fold(str(tmp_path / "a"), args) is None
