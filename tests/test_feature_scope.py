"""The feature scope (mri/feature_scope.py, frontend/js/shared/featurescope.js) with the shipped model and
its metadata.json block: the page computes the distance the Python reference computes, from the
Keras features and from the graph model's node; the API withholds a phantom and answers real
test-subset slices."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from page_jobs import run_page_job, write_floats
from PIL import Image

from mri import feature_scope
from mri.images import load_model_input
from tests.conftest import REPO, real_data
from training import ood_images

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mri_site.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-never-used-for-serving")

MODEL_DIR = REPO / "frontend" / "model"
METADATA = json.loads((MODEL_DIR / "metadata.json").read_text())
BLOCK = feature_scope.block_of(METADATA)
pytestmark = pytest.mark.skipif(BLOCK is None, reason="the shipped metadata.json has no feature_scope block")


def phantom_png(seed: int = 0) -> bytes:
    return ood_images.generated(3, seed)["phantom"]["water-bottle disc"][0]


def test_subset_slices(per_source: int = 2) -> list[Path]:
    """The first few test-subset slices of each collection of the shipped model's split."""
    real_data()
    picked: dict[str, list[Path]] = {}
    with (REPO / "reports" / "final-model" / "split.csv").open() as f:
        for row in csv.DictReader(f):
            if row["subset"] == "test" and len(picked.setdefault(row["source"], [])) < per_source:
                picked[row["source"]].append(REPO / row["path"])
    return [p for paths in picked.values() for p in paths]


test_subset_slices.__test__ = False  # a helper, not a test


@pytest.fixture(scope="module")
def keras_features():
    """The shipped model's features of a few real slices and a phantom, with their inputs."""
    from mri.layers import load_model

    model = feature_scope.feature_model(load_model(str(MODEL_DIR / "model.h5")), BLOCK)
    size = METADATA["input"]
    blobs = [p.read_bytes() for p in test_subset_slices(1)] + [phantom_png()]
    inputs = np.stack([load_model_input(b, size["height"], size["width"], size["channels"]) for b in blobs])
    return inputs, np.asarray(model.predict_on_batch(inputs)[0])


def test_block_is_read_or_skipped():
    assert feature_scope.block_of({}) is None and feature_scope.block_of({"feature_scope": {"means": []}}) is None
    assert BLOCK["cutoff"] > 0 and len(BLOCK["components"][0]) == len(BLOCK["means"][0])


def test_the_page_computes_the_distance_python_computes(tmp_path, keras_features):
    inputs, features = keras_features
    expected = feature_scope.distances(features, BLOCK)
    tfjs = METADATA["tfjs"]
    answer = run_page_job(tmp_path, task="feature_scope", block=BLOCK, dimension=features.shape[1],
                          features=write_floats(tmp_path / "features.f32", features), model_dir=str(MODEL_DIR),
                          input_name=tfjs["input"]["name"], output_name=tfjs["output"]["name"],
                          pixels=write_floats(tmp_path / "pixels.f32", inputs), input=METADATA["input"])
    np.testing.assert_allclose(answer["distances"], expected, atol=1e-4, rtol=0)
    np.testing.assert_allclose(answer["graph"], expected, atol=1e-4, rtol=0)  # the node, pooled by the page
    assert expected[-1] > BLOCK["cutoff"] > expected[:-1].max()  # the phantom is out, the real slices in


@pytest.fixture(scope="module")
def client():
    import django
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment

    django.setup()
    setup_test_environment()
    yield Client()
    teardown_test_environment()


def predict(client, data: bytes, name: str) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/api/predict", {"image": SimpleUploadedFile(name, data)})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_api_gives_a_phantom_no_verdict(client):
    body = predict(client, phantom_png(), "phantom.png")
    assert body["level"] == "not-mri" and body["feature_scope"]["withheld"] is True
    assert body["feature_scope"]["distance"] > body["feature_scope"]["cutoff"] == BLOCK["cutoff"]
    assert body["reasons"] == [f"The image is unlike the MRI slices the model was trained on (feature distance "
                               f"{body['feature_scope']['distance']:.2f} above the cut-off {BLOCK['cutoff']:.2f}); "
                               "it may not be a brain MRI slice."]
    assert set(body["probabilities"]) == set(METADATA["labels"])  # still there


def test_the_api_withholds_no_real_test_slice(client):
    for path in test_subset_slices():
        body = predict(client, path.read_bytes(), path.name)
        assert "level" not in body and body["feature_scope"]["withheld"] is False, (path.name, body)


def test_the_api_skips_the_check_for_older_metadata(client, tmp_path, monkeypatch):
    from django.test import override_settings

    from mri_site import classifier as classifier_module

    for name in ("model.h5", "model.json"):
        (tmp_path / name).symlink_to(MODEL_DIR / name)
    older = {k: v for k, v in METADATA.items() if k != feature_scope.BLOCK}
    (tmp_path / "metadata.json").write_text(json.dumps(older))
    monkeypatch.setattr(classifier_module, "_classifier", None)
    with override_settings(MRI_MODEL_DIR=tmp_path):
        body = predict(client, phantom_png(), "phantom.png")
    assert "feature_scope" not in body and "level" not in body


def test_generated_images_are_valid_pngs():
    for family in ood_images.generated(3, 1).values():
        for images in family.values():
            assert Image.open(io.BytesIO(images[0])).size == (ood_images.SIZE, ood_images.SIZE)
