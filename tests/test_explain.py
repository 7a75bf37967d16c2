"""Occlusion sensitivity: the Python reference (training/explain/occlusion.py) finds what a model relies on,
and the page's code (frontend/js/shared/explain.js, run by Node on the converted TF.js model) gives the
same map for the same model and input."""
from __future__ import annotations

import json

import numpy as np
import pytest
from page_jobs import read_floats, require_node, run_page_job, write_floats

from training.explain import __main__ as explain
from training.explain import occlusion


def test_geometry_matches_the_page_defaults():
    assert occlusion.occlusion_settings(128, 128) == (16, 8)
    assert len(occlusion.occlusion_patches(128, 128, 16, 8)) == 225
    assert occlusion.patch_positions(11, 4, 3) == [0, 3, 6, 7]
    assert occlusion.patch_positions(3, 4, 2) == [0]
    # rounding halves up, as JavaScript's Math.round does (Python's round(2.5) is 2)
    assert occlusion.occlusion_settings(20, 20) == (3, 2)


def test_finds_the_region_the_model_relies_on():
    # A stand-in model that scores the brightness of the top-left quadrant only.
    def predict(batch):
        score = batch[:, :16, :16, 0].mean(axis=(1, 2)) / 255.0
        return np.stack([score, 1 - score], axis=1)

    image = np.full((32, 32, 1), 255.0, np.float32)
    heatmap, index, probabilities = occlusion.occlusion_sensitivity(predict, image, class_index=0)
    assert index == 0 and probabilities[0] == pytest.approx(1.0)
    assert heatmap[:12, :12].min() > 0.05        # hiding any part of the quadrant lowers the score
    assert np.all(heatmap[20:, 20:] == 0)        # hiding elsewhere changes nothing
    assert np.unravel_index(heatmap.argmax(), heatmap.shape)[0] < 16


def test_aggregation_matches_the_page(tmp_path):
    height, width = 40, 24
    patch, stride = occlusion.occlusion_settings(height, width)
    patches = occlusion.occlusion_patches(height, width, patch, stride)
    scores = np.random.default_rng(0).uniform(0, 1, len(patches)).astype(np.float32)
    expected = occlusion.occlusion_map(0.8, scores, patches, height, width, patch)
    info = run_page_job(tmp_path, task="occlusion_map", base=0.8, scores=write_floats(tmp_path / "s.f32", scores),
                        height=height, width=width, out=str(tmp_path / "map.f32"))
    assert info == {"patch": patch, "stride": stride, "passes": len(patches)}
    np.testing.assert_allclose(read_floats(tmp_path / "map.f32").reshape(height, width), expected, rtol=0, atol=1e-6)


def _location_sensitive_model(size: int):
    """A small random model whose answer depends on where things are (Flatten before Dense)."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((size, size, 1), name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 5, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="softmax",
                                 kernel_initializer=keras.initializers.RandomNormal(stddev=0.5))(x)
    return keras.Model(inputs, outputs)


def test_page_and_python_give_the_same_map_for_the_same_model(tmp_path):
    require_node()
    from convert.graph_model import export_graph_model
    from tests.conftest import blob_image

    size = 32
    model = _location_sensitive_model(size)
    graph = export_graph_model(model, tmp_path / "tfjs")
    image = blob_image(np.random.default_rng(1), size, bright_spot=True).astype(np.float32)[..., None]

    expected, index, probabilities = occlusion.occlusion_sensitivity(occlusion.keras_predictor(model), image)
    assert expected.max() > 1e-3, "the test model must be sensitive to occlusion for the check to mean anything"
    info = run_page_job(tmp_path, task="explain", model_dir=str(graph.directory), input_name=graph.input_name,
                        output_name=graph.output_name, pixels=write_floats(tmp_path / "x.f32", image),
                        input={"height": size, "width": size, "channels": 1}, class_index=None,
                        out=str(tmp_path / "map.f32"))
    assert info["class_index"] == index
    np.testing.assert_allclose(info["probabilities"], probabilities, rtol=0, atol=1e-5)
    actual = read_floats(tmp_path / "map.f32").reshape(size, size)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5 + 1e-3 * float(np.abs(expected).max()))


def test_cli_writes_the_overlay_and_the_map(tmp_path, capsys):
    from PIL import Image

    from training.models import create_model

    size = 32
    model = create_model("lenet", (size, size, 1), 4)
    model.save(tmp_path / "model.h5")
    (tmp_path / "metadata.json").write_text(json.dumps({
        "labels": ["glioma", "meningioma", "notumor", "pituitary"], "no_tumor_label": "notumor",
        "input": {"height": size, "width": size, "channels": 1}}))
    Image.fromarray(np.full((50, 60), 90, np.uint8)).save(tmp_path / "scan.png")
    explain.main(["--model", str(tmp_path / "model.h5"), str(tmp_path / "scan.png"), "--label", "glioma",
                  "--out", str(tmp_path / "heat.png"), "--npy", str(tmp_path / "heat.npy")])
    summary = json.loads(capsys.readouterr().out)
    assert summary["explained"] == "glioma"
    assert set(summary["probabilities"]) == {"glioma", "meningioma", "notumor", "pituitary"}
    assert Image.open(tmp_path / "heat.png").size == (size, size)
    assert np.load(tmp_path / "heat.npy").shape == (size, size)
