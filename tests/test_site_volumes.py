"""POST /api/predict with a NIfTI volume: per-slice answers equal Keras's, the summary adds them up,
and each kind of bad volume gets its status and sentence."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from tests.conftest import real_data
from tests.test_site import LABELS, METADATA, assert_error, client, django_test_environment, keras_model, site, upload  # noqa: F401
from tests.test_volumes import expected_slices, header_with_dims
from tests.volume_samples import brats_path, brats_patients, head_phantom, nifti_bytes


def keras_on_slices(slices: np.ndarray) -> np.ndarray:
    """Keras's probabilities for uint8 slices [n, h, w], through the image path of mri.images."""
    from mri.images import resize_bilinear

    shape = METADATA["input"]
    batch = np.stack([resize_bilinear(s.astype(np.float32)[..., None], shape["height"], shape["width"])
                      for s in slices])
    return keras_model().predict(batch, verbose=0)


def test_brats_volume_per_slice_equals_keras(client):
    real_data("volumes/brats2018")
    path = brats_path(brats_patients()[0], "flair")
    data = path.read_bytes()
    response = upload(client, data, path.name)
    assert response.status_code == 200, response.content
    answer = response.json()
    slices = expected_slices(data)  # nibabel's reading, not the server's
    indices = [s["index"] for s in answer["slices"]]
    assert indices == sorted(indices) and 40 < len(indices) < len(slices)
    expected = keras_on_slices(slices[indices])
    got = np.array([[s["probabilities"][label] for label in LABELS] for s in answer["slices"]])
    assert np.max(np.abs(got - expected)) <= 1e-5
    assert [s["label"] for s in answer["slices"]] == [LABELS[i] for i in expected.argmax(axis=1)]
    tumour = 1.0 - expected[:, LABELS.index(METADATA["no_tumor_label"])]
    summary = answer["summary"]
    assert summary["slices"] == 155 and summary["classified"] == len(indices)
    assert summary["skipped"] == 155 - len(indices)
    assert summary["above_threshold"] == int((tumour >= 0.5).sum())
    assert summary["most_likely"][0]["index"] == indices[int(np.argmax(tumour))]
    assert summary["most_likely"][0]["tumor_probability"] == pytest.approx(tumour.max(), abs=1e-5)


def test_generated_volume_uncompressed_and_header_text_not_echoed(client):
    data = nifti_bytes(head_phantom((64, 64, 12)), np.diag([-1.0, -1, 1, 1]), gz=False,
                       text="Doe^Jane secret")
    response = upload(client, data, "scan.nii")
    assert response.status_code == 200, response.content
    assert b"Doe" not in response.content and b"secret" not in response.content
    assert response.json()["summary"]["slices"] == 12


def test_truncated_volume_is_400(client):
    data = nifti_bytes(head_phantom(), np.eye(4))
    assert_error(upload(client, data[: len(data) // 2], "cut.nii.gz"), 400, "cut.nii.gz", "cut short")


def test_2d_volume_is_400(client):
    assert_error(upload(client, header_with_dims([40, 48]), "flat.nii"), 400, "2-D")


def test_absurd_dimensions_are_413(client):
    assert_error(upload(client, gzip.compress(header_with_dims([2000, 2000, 2000])), "huge.nii.gz"),
                 413, "huge.nii.gz", "voxels")


def test_gzip_that_is_not_nifti_is_415(client):
    assert_error(upload(client, gzip.compress(b"not a scan " * 100), "notes.gz"), 415, "nifti")
