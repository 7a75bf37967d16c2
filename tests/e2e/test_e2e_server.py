"""The page and the server's Keras fallback (POST /api/predict) give the same answer for the same
file: through the page's "Check with the server" button, and through a direct API call; and a bad
file in a batch marks its own row while the others complete."""
from __future__ import annotations

import re

from tests.e2e.harness import (
    FIGURES,
    JPEG_TOLERANCE,
    PNG_TOLERANCE,
    margin,
    max_difference,
    some_slices,
    top,
    wait_until_offline_ready,
)


def test_check_with_the_server_shows_the_same_answer(app, site):
    png, _ = some_slices()
    app.upload([(png.name, png.data)])
    app.wait_for_batch(1)
    # The service worker's offline copy (the viewer's NiiVue included) must be done first: its
    # fetches would land in the server's log beside the one request this check may make.
    wait_until_offline_ready(app)
    mark = app.mark()
    app.page.click("#verify")
    app.page.wait_for_function("() => /answer/.test(document.getElementById('verify-result').textContent)")
    text = app.page.inner_text("#verify-result")
    assert "Same answer" in text, text
    points = float(re.search(r"Largest probability difference: ([\d.]+) percentage points", text).group(1))
    assert points / 100 <= PNG_TOLERANCE, text  # shown to 0.01 point, i.e. 1e-4

    # The one request the page made: a POST of this image to its own server, which logged it.
    sent, served = app.requests_since(mark)
    assert [(r.method, r.url) for r in sent] == [("POST", site.url + "api/predict")], [str(r) for r in sent]
    assert sent[0].has_body and [png.data in body for body in app.bodies_since(mark)] == [True]
    assert served == ["POST /api/predict HTTP/1.1"], served


def test_the_api_answers_as_the_page_does(app, site):
    differences = {}
    for sample in some_slices():
        status, answer = site.post("api/predict", sample.data, sample.name)
        assert status == 200, answer
        page = app.classify(sample.name, sample.data)
        tolerance = PNG_TOLERANCE if sample.kind == "PNG" else JPEG_TOLERANCE
        difference = max_difference(page["probabilities"], answer["probabilities"])
        differences[sample.kind] = difference
        assert difference <= tolerance, (sample.name, page["probabilities"], answer["probabilities"])
        assert abs(page["tumorProbability"] - answer["tumor_probability"]) <= tolerance
        if sample.kind == "PNG" or margin(answer["probabilities"]) > tolerance:
            assert page["label"] == answer["label"] == top(answer["probabilities"])
    FIGURES["page vs POST /api/predict"] = ", ".join(f"{kind} max |dp| {d:.1e}" for kind, d in differences.items())


def test_a_bad_file_marks_its_own_row_and_the_batch_goes_on(app):
    png, jpeg = some_slices()
    bad = {
        "not-an-image.png": b"this is a text file, not an image\n" * 20,
        "empty.jpg": b"",
        "truncated.png": png.data[: len(png.data) // 3],
        "truncated.jpg": jpeg.data[: len(jpeg.data) // 2],  # Chromium refuses it, as Pillow does
    }
    batch = [(png.name, png.data), *bad.items(), (jpeg.name, jpeg.data)]
    app.upload(batch)
    app.wait_for_batch(len(batch))
    rows = app.rows()
    for name in (png.name, jpeg.name):
        assert rows[name]["error"] is None and rows[name]["tumour"].endswith("%"), rows[name]
    for name in bad:
        assert rows[name]["verdict"] == "Could not be read", rows[name]
        # The reason, naming the file, in its own row.
        assert rows[name]["error"] and name in rows[name]["error"], rows[name]
    assert f"{len(bad)} could not be read" in app.page.inner_text("#progress-label")
