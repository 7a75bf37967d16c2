"""What hospitals send, in real Chromium: compressed DICOM of a real slice (JPEG Lossless,
JPEG-LS, JPEG 2000, RLE, JPEG baseline) is classified in the page as its uncompressed original is,
under the site's CSP and without a request; and DICOM whose header puts it outside what the model
knows (a diffusion series, an EPI file, a sagittal slice) gets no verdict, only reasons."""
from __future__ import annotations

import numpy as np

from tests.compressed_samples import LOSSLESS, compress, source_for, uncompressed_dicom
from tests.e2e.harness import wait_until_offline_ready
from tests.e2e.test_e2e_scans import classify_scan
from tests.volume_samples import dicom_series, head_phantom

SYNTAXES = ["1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.80",
            "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50"]


def test_compressed_dicom_is_classified_as_its_uncompressed_original(app, site, tmp_path):
    wait_until_offline_ready(app)  # the service worker's precaching is part of loading
    mark = app.mark()
    for syntax in SYNTAXES:
        raw = uncompressed_dicom(source_for(syntax), WindowCenter=1200 if syntax != SYNTAXES[-1] else 128,
                                 WindowWidth=2400 if syntax != SYNTAXES[-1] else 256)
        original = app.classify("raw.dcm", raw)
        if syntax == SYNTAXES[0]:
            # Named as a picture, it is still read by its header (the page tries such names as pictures first).
            misnamed = app.classify("raw.jpg", raw)
            assert misnamed["dicom"] and misnamed["probabilities"] == original["probabilities"], misnamed
        packed = app.classify(f"{syntax}.dcm", compress(raw, syntax, tmp_path))
        difference = max(abs(packed["probabilities"][k] - original["probabilities"][k]) for k in app.labels)
        # Lossless syntaxes give the original's very pixels; lossy ones stay close.
        assert difference <= (1e-6 if syntax in LOSSLESS else 0.05), (syntax, difference)
        assert packed["dicom"] and packed["level"] == original["level"], syntax
    # The only requests: the wasm decoders, fetched from the site on first use (and precached for
    # offline use); no body, nothing else.
    sent, _ = app.requests_since(mark)
    assert all(r.method == "GET" and not r.has_body and r.url.startswith(site.url + "vendor/") for r in sent), sent
    assert not app.problems(), app.problems()  # no CSP violation from the wasm decoders


def header_file(**header) -> bytes:
    pixels = np.round(head_phantom(shape=(64, 64, 1))[:, :, 0] * 10).astype(np.uint16)
    return uncompressed_dicom(pixels, **header)


def test_dicom_outside_the_models_scope_gets_no_verdict_and_a_reason(app):
    epi = header_file(SeriesDescription="fMRI_resting_BOLD", ScanningSequence="EP",
                      ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    sagittal = header_file(SeriesDescription="SAG T1 MPRAGE", ImageOrientationPatient=[0, 1, 0, 0, 0, -1])
    axial = header_file(SeriesDescription="AX T2 TSE", ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    for name, data, reason in (("epi.dcm", epi, "EPI image"),
                               ("sagittal.dcm", sagittal, "90 degrees from axial (sagittal)")):
        result = app.classify(name, data)
        assert result["level"] == "not-mri" and result["likelyType"] is None, result
        assert any(reason in r for r in result["reasons"]), result["reasons"]
    assert app.classify("axial.dcm", axial)["scope"]["label"] == "T2, axial"

    app.upload([("epi.dcm", epi), ("sagittal.dcm", sagittal)])
    app.wait_for_batch(2)
    rows = app.rows()
    assert all(rows[name]["verdict"].startswith("No result") for name in ("epi.dcm", "sagittal.dcm")), rows
    app.page.click("text=sagittal.dcm")
    reasons = app.page.inner_text("#reasons")
    assert "trained on axial slices only" in reasons, reasons

    # A diffusion series is judged as a whole: not classified, its reason given.
    phantom = np.round(head_phantom())
    series = dicom_series(phantom)
    import io

    import pydicom
    dwi = []
    for name, data in series:
        ds = pydicom.dcmread(io.BytesIO(data))
        ds.SeriesDescription, ds.ImageType = "ep2d_diff_3scan_trace", ["ORIGINAL", "PRIMARY", "DIFFUSION", "TRACEW"]
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        dwi.append((name, out.getvalue()))
    answer = classify_scan(app, dwi)
    assert answer.get("level") == "not-mri" and answer["slices"] == [], sorted(answer)
    assert answer["reasons"][0].startswith("The header says this is a diffusion image"), answer["reasons"]
    assert classify_scan(app, series)["level"] is None  # the same series, axial T-weighted: classified
    assert not app.problems(), app.problems()
