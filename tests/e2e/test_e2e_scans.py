"""Whole scans in Chromium against the real server: a BraTS NIfTI volume and a DICOM series made
from one are classified in the page slice by slice, with Keras's answers; nothing is sent while
that happens, no tensor is left behind, and in a batch a cut-short .nii.gz gets its sentence while
the other files complete."""
from __future__ import annotations

import base64
import random

import numpy as np

from mri.volumes import Volume
from tests.conftest import real_data
from tests.e2e.harness import PAGE_TIMEOUT_MS, PNG_TOLERANCE, open_app, some_slices, wait_until_offline_ready
from tests.test_volumes import expected_slices
from tests.volume_samples import FAKE_PATIENT, brats_path, brats_patients, dicom_series, head_phantom, nifti_bytes

# window.classifier.classifyScan on files sent from Python: [[base64, name], ...] -> its answer.
CLASSIFY_SCAN = """async (files) => {
  const blobs = files.map(([data, name]) => new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name));
  await window.classifier.ready;
  try {
    const before = (await window.classifier.memory()).numTensors;
    const answer = await window.classifier.classifyScan(blobs.length === 1 ? blobs[0] : blobs);
    return { ...answer, tensorsBefore: before, tensorsAfter: (await window.classifier.memory()).numTensors };
  } catch (err) {
    return { error: err.message };
  }
}"""


def classify_scan(app, files: list[tuple[str, bytes]]) -> dict:
    answer = app.page.evaluate(CLASSIFY_SCAN, [[base64.b64encode(d).decode("ascii"), n] for n, d in files])
    assert "error" not in answer, answer["error"]
    return answer


def keras_on_slices(keras, slices: np.ndarray) -> np.ndarray:
    """Keras's probabilities for uint8 slices [n, h, w] on the image path (mri.images)."""
    from mri.images import resize_bilinear

    shape = keras.metadata["input"]
    batch = np.stack([resize_bilinear(s.astype(np.float32)[..., None], shape["height"], shape["width"])
                      for s in slices])
    return np.asarray(keras.model(batch, training=False))


def assert_equals_keras(keras, answer: dict, slices: np.ndarray, labels: list[str]) -> None:
    """The page's per-slice answers against Keras on the slices nibabel reads."""
    head = Volume(slices).has_head()
    indices = [s["index"] for s in answer["slices"]]
    assert indices == np.flatnonzero(head).tolist()
    expected = keras_on_slices(keras, slices[indices])
    got = np.array([[s["probabilities"][label] for label in labels] for s in answer["slices"]])
    assert np.max(np.abs(got - expected)) <= PNG_TOLERANCE
    assert [s["label"] for s in answer["slices"]] == [labels[i] for i in expected.argmax(axis=1)]
    assert answer["summary"]["classified"] == len(indices)
    assert answer["summary"]["skipped"] == len(slices) - len(indices)
    assert answer["tensorsAfter"] == answer["tensorsBefore"], "classifying a scan left tensors behind"


def test_brats_volume_and_its_dicom_series_equal_keras_and_send_nothing(app, keras):
    real_data("volumes/brats2018")
    path = brats_path(brats_patients()[1], "t1ce")
    data = path.read_bytes()
    slices = expected_slices(data)
    wait_until_offline_ready(app)  # the service worker's caching is part of loading
    mark = app.mark()
    volume_answer = classify_scan(app, [(path.name, data)])
    assert_equals_keras(keras, volume_answer, slices, app.labels)

    import nibabel as nib
    series = dicom_series(np.asarray(nib.load(path).dataobj, dtype=np.float64))
    random.Random(2).shuffle(series)
    series_answer = classify_scan(app, series)
    assert_equals_keras(keras, series_answer, slices, app.labels)
    sent, served = app.requests_since(mark)
    assert not sent and not served, f"requests while classifying scans: {sent} {served}"


def test_scan_view_in_a_batch_with_a_cut_short_volume(browser, site):
    app = open_app(browser, site)
    try:
        phantom = head_phantom((96, 96, 24))
        good = nifti_bytes(phantom, np.diag([-1.0, -1, 1, 1]), text="Doe^Jane secret")
        cut = good[: len(good) // 2]
        series = dicom_series(np.round(phantom))
        png = some_slices()[0]
        wait_until_offline_ready(app)
        mark = app.mark()
        app.upload([("good.nii.gz", good), ("cut.nii.gz", cut), (png.name, png.data), *series])
        app.wait_for_batch(4)  # the PNG, as an image row, and the three scans (one fails)
        cards = app.page.locator(".scan-card")
        app.page.wait_for_function(
            "() => [...document.querySelectorAll('.scan-card')].length === 3 && "
            "[...document.querySelectorAll('.scan-card')].every((c) => c.querySelector('.scan-summary') || "
            "c.classList.contains('failed'))",
            timeout=PAGE_TIMEOUT_MS)
        failed = app.page.locator(".scan-card.failed")
        assert failed.count() == 1
        assert "cut.nii.gz is cut short or damaged" in failed.locator(".scan-status").text_content()
        summaries = [cards.nth(i).locator(".scan-summary").text_content() for i in range(3)
                     if cards.nth(i).locator(".scan-summary").count()]
        assert len(summaries) == 2 and all("not a diagnosis" in s for s in summaries), summaries
        assert "error" not in str(app.rows()[png.name]["error"] or "")
        # The slider shows another slice; its image is drawn.
        slider = cards.first.locator(".scan-slider input[type=range]")
        slider.fill("3")  # slices are numbered from 1
        app.page.wait_for_function(
            "() => document.querySelector('.scan-slice-label').textContent.startsWith('Slice 3 of 24')")
        text = app.page.locator("body").inner_text()
        for secret in ("Doe", "Jane", "secret", FAKE_PATIENT["PatientID"]):
            assert secret not in text
        sent, served = app.requests_since(mark)
        assert not sent and not served, f"requests while classifying scans: {sent} {served}"
        assert not app.problems(), app.problems()
    finally:
        app.context.close()


def test_server_check_of_a_slice_sends_only_its_png(browser, site):
    app = open_app(browser, site)
    try:
        good = nifti_bytes(head_phantom((96, 96, 16)), np.diag([-1.0, -1, 1, 1]), text="Doe^Jane secret")
        app.upload([("scan.nii.gz", good)])
        app.page.wait_for_selector(".scan-summary", timeout=PAGE_TIMEOUT_MS)
        mark = app.mark()
        app.page.get_by_role("button", name="Check this slice with the server").click()
        app.page.wait_for_selector(".scan-verify table", timeout=PAGE_TIMEOUT_MS)
        bodies = app.bodies_since(mark)
        assert len(bodies) == 1 and b"\x89PNG" in bodies[0]
        assert b"Doe" not in bodies[0] and b"secret" not in bodies[0] and b"n+1" not in bodies[0]
    finally:
        app.context.close()
