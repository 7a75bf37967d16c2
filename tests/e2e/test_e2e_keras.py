"""The page gives Keras's answer: real slices classified in Chromium, through the page's file input
and through window.classifier, against frontend/model/model.h5 run by Keras on the same bytes.

Holds for any model that follows the contract (docs/contract.md): the expected labels are Keras's, never
written down here.
"""
from __future__ import annotations

import base64
import io

import numpy as np

from tests.e2e.harness import (
    FIGURES,
    JPEG_TOLERANCE,
    LEVEL_HEADLINES,
    PNG_TOLERANCE,
    decision,
    expected_level,
    margin,
    max_difference,
    screenshot,
    shown_percent,
    top,
)

# The browser's JPEG decoding, as the page does it (preprocess.js: createImageBitmap, no colour
# conversion) -> base64 RGBA.
BROWSER_PIXELS = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes]), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let text = '';
  for (let i = 0; i < rgba.length; i += 8192) text += String.fromCharCode(...rgba.subarray(i, i + 8192));
  return [bitmap.width, bitmap.height, btoa(text)];
}"""


def tolerance(kind: str) -> float:
    return PNG_TOLERANCE if kind == "PNG" else JPEG_TOLERANCE


def test_the_page_shows_keras_label_for_each_uploaded_file(app, real_samples, keras):
    """Files picked with "Choose files…": each row shows the result level, tumour probability and
    likely tumour type that Keras's probabilities give; the selected file's heatmap is drawn (the
    README's screenshot)."""
    app.upload([(s.name, s.data) for s in real_samples])
    app.wait_for_batch(len(real_samples))
    rows = app.rows()
    metadata = keras.metadata
    no_tumour = metadata["no_tumor_label"]
    tumour_cut, possible_cut = decision(metadata)
    for sample in real_samples:
        expected = keras.probabilities(sample.data, sample.name)
        row = rows[sample.name]
        assert row["error"] is None, f"{sample.name}: the page says {row['error']}"
        p = 1 - expected[no_tumour]
        low, high = shown_percent(row["tumour"])
        assert low - tolerance(sample.kind) <= p <= high + tolerance(sample.kind), (sample.name, row, expected)
        near_a_cut = min(abs(p - tumour_cut), abs(p - possible_cut)) <= tolerance(sample.kind)
        if not near_a_cut:
            assert row["verdict"] == LEVEL_HEADLINES[expected_level(expected, metadata)], (sample.name, row, expected)
        tumour_types = {label: v for label, v in expected.items() if label != no_tumour}
        clear_type = sample.kind == "PNG" or margin(tumour_types) > JPEG_TOLERANCE
        if row["verdict"] != LEVEL_HEADLINES["none"] and clear_type:
            assert row["type"].startswith(top(tumour_types)), f"{sample.name}: page {row['type']}, Keras {expected}"

    app.wait_for_heatmap()
    heat = app.page.evaluate("""() => { const c = document.getElementById('heatmap');
        return c.width > 0 && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v > 0); }""")
    caption = app.page.inner_text("#heatmap-caption")
    assert heat or caption.startswith("Hiding any part"), f"no heatmap drawn; caption: {caption}"
    screenshot(app, "batch", "results-panel", "detail")


def test_window_classifier_gives_keras_probabilities(app, real_samples, keras):
    """window.classifier.classify (the figures the page shows) against Keras, per file format."""
    differences = {"PNG": [], "JPEG": []}
    answers = set()
    for sample in real_samples:
        expected = keras.probabilities(sample.data, sample.name)
        answers.add(tuple(np.round(list(expected.values()), 6)))
        result = app.classify(sample.name, sample.data)
        assert set(result["probabilities"]) == set(expected)
        difference = max_difference(result["probabilities"], expected)
        differences[sample.kind].append(difference)
        assert difference <= tolerance(sample.kind), (sample.name, result["probabilities"], expected)
        keras_tumour = 1 - expected[keras.metadata["no_tumor_label"]]
        assert abs(result["tumorProbability"] - keras_tumour) <= tolerance(sample.kind)
        if sample.kind == "PNG" or margin(expected) > JPEG_TOLERANCE:
            assert result["label"] == top(expected), (sample.name, result["probabilities"], expected)
        assert result["level"] in {"likely", "possible", "none", "not-mri"}, result
        nearest_cut = min(abs(result["tumorProbability"] - cut) for cut in decision(keras.metadata))
        if result["level"] != "not-mri" and nearest_cut > 1e-3:
            assert result["level"] == expected_level(expected, keras.metadata), (sample.name, result, expected)
    for kind, values in differences.items():
        if values:
            FIGURES[f"page vs Keras, {kind}"] = (f"max |p_page - p_keras| {max(values):.1e} over {len(values)} "
                                                 f"real slices "
                                                 f"(allowed {tolerance(kind):g}), same top-1 on all")
    if len(answers) == 1:
        FIGURES["warning"] = ("the shipped model gives every image the same answer (an untrained placeholder?): "
                              "the page-vs-Keras comparisons prove little until a trained model is shipped")


def test_chromium_and_pillow_jpeg_decoding_differ_by_little(app, real_samples):
    """Reports how far the browser's JPEG decoder is from Pillow's, the reason for JPEG_TOLERANCE."""
    from PIL import Image

    worst, mean = 0, []
    for sample in (s for s in real_samples if s.kind == "JPEG"):
        width, height, b64 = app.page.evaluate(BROWSER_PIXELS, base64.b64encode(sample.data).decode())
        browser = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(height, width, 4)[..., :3].astype(int)
        pillow = np.asarray(Image.open(io.BytesIO(sample.data)).convert("RGB")).astype(int)
        assert browser.shape == pillow.shape, sample.name
        worst = max(worst, int(np.abs(browser - pillow).max()))
        mean.append(float(np.abs(browser - pillow).mean()))
    FIGURES["Chromium vs Pillow JPEG decoding"] = (f"max pixel difference {worst} of 255, mean {np.mean(mean):.3f}, "
                                                   f"over {len(mean)} real JPEG slices")
    # Both are libjpeg-turbo builds; a large difference would mean colour management or EXIF
    # rotation crept into the page's decoding (preprocess.js turns both off).
    assert worst <= 8, f"the browser's JPEG decoding differs from Pillow's by up to {worst} levels"
