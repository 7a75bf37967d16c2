"""Scans as first-class items of the page, in Chromium against the real server: the batch bar
counts a volume (a cut-short one as failed), its CSV has a summary line per scan and Clear removes
the cards; a scan's slices are numbered from 1 (a DICOM series' by InstanceNumber and position
too), its heatmap has the images' legend and controls, and its server check the images' notice
and comparison table."""
from __future__ import annotations

import csv
import io

import numpy as np

from tests.e2e.harness import PAGE_TIMEOUT_MS, some_slices
from tests.volume_samples import dicom_series, head_phantom, nifti_bytes

AFFINE = np.diag([-1.0, -1, 1, 1])
ALL_SHOWN = ("(n) => document.querySelectorAll('.scan-card').length === n && "
             "[...document.querySelectorAll('.scan-card')]"
             ".every((c) => c.querySelector('.scan-summary') || c.classList.contains('failed'))")


def wait_for_text(app, selector: str, pattern: str) -> None:
    """Until the first `selector`'s text matches the regular expression `pattern` (JS syntax)."""
    app.page.wait_for_function("([s, p]) => new RegExp(p).test(document.querySelector(s).textContent)",
                               arg=[selector, pattern], timeout=PAGE_TIMEOUT_MS)


def batch_csv(app) -> list[dict]:
    with app.page.expect_download() as download:
        app.page.click("#export-csv")
    text = download.value.path().read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_scans_are_counted_exported_and_cleared_by_the_batch_bar(app):
    good = nifti_bytes(head_phantom((96, 96, 24)), AFFINE)
    png = some_slices()[0]
    app.upload([("good.nii.gz", good), ("cut.nii.gz", good[: len(good) // 2]), (png.name, png.data)])
    app.wait_for_batch(3)  # two scans and one image
    app.page.wait_for_function(ALL_SHOWN, arg=2, timeout=PAGE_TIMEOUT_MS)
    label = app.page.inner_text("#progress-label")
    assert label.startswith("3 of 3 done · 1 could not be read"), label
    rows = {row["file"]: row for row in batch_csv(app)}
    assert set(rows) == {"good.nii.gz", "cut.nii.gz", png.name}, rows
    scan = rows["good.nii.gz"]
    assert (scan["kind"], scan["status"], scan["slices"]) == ("nifti", "done", "24"), scan
    worst, total = scan["worst_slice"].split("/")
    assert total == "24" and 1 <= int(worst) <= 24
    assert scan["level"] in ("likely", "possible", "none") and scan["worst_level"] == scan["level"]
    assert abs(float(scan["tumor_probability"]) - float(scan["worst_tumor_probability"])) < 1e-9
    # The summary's most concerning slice is the CSV's.
    assert f"tumour: slice {worst} (" in app.page.locator(".scan-card .scan-summary").first.text_content()
    cut = rows["cut.nii.gz"]
    assert (cut["kind"], cut["status"]) == ("nifti", "error") and "cut short" in cut["error"], cut
    assert rows[png.name]["kind"] == "image"
    app.page.click("#clear")
    assert app.page.locator(".scan-card").count() == 0
    assert app.page.is_hidden("#scans-panel")
    assert app.page.inner_text("#progress-label") == "No images yet."
    assert app.page.is_disabled("#export-csv")
    assert not app.problems(), app.problems()


def test_a_scan_slice_has_the_images_heatmap_legend_and_server_check(app):
    app.upload([("scan.nii.gz", nifti_bytes(head_phantom((96, 96, 16)), AFFINE))])
    app.page.wait_for_selector(".scan-summary", timeout=PAGE_TIMEOUT_MS)
    card = app.page.locator(".scan-card")
    slider = card.locator(".scan-slider input[type=range]")
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("1", "16")
    slider.fill("16")
    wait_for_text(app, ".scan-slice-label", "^Slice 16 of 16")
    slider.fill("1")
    wait_for_text(app, ".scan-slice-label", "^Slice 1 of 16")
    assert "0 slices" not in card.locator(".scan-summary").text_content()
    legend = card.locator(".strip-legend").inner_text()
    assert "cut-off" in legend and "not classified" in legend, legend
    # The most concerning slice, classified, then its heatmap on the images' scale.
    slider.fill("8")
    wait_for_text(app, ".scan-slice-label", "^Slice 8 of 16: tumour probability")
    assert card.locator(".scan-heatmap-caption").text_content() == ""
    assert card.locator(".legend").is_hidden()
    card.get_by_role("button", name="Show where the model looked").click()
    wait_for_text(app, ".scan-heatmap-caption", "Heatmap for|Hiding any part")
    assert card.locator(".legend").is_visible() and "50+ points" in card.locator(".legend").inner_text()
    assert card.locator(".scan-heatmap-caption").text_content().startswith("Slice 8 of 16.")
    assert card.get_by_label("Heatmap opacity").count() == 1
    assert card.get_by_label("Explain the class").locator("option").count() == len(app.labels)
    card.get_by_label("Heatmap opacity").fill("20")
    assert card.locator(".scan-stage").evaluate("(s) => s.style.getPropertyValue('--overlay-opacity')") == "0.2"
    # The server check: the notice images get, before anything is sent; then the table.
    notice = card.locator(".scan-verify-notice").inner_text()
    assert "This sends this one slice to the server that hosts this page" in notice
    assert "Nothing is sent unless you press the button" in notice
    assert notice.split(" slice ", 1)[1].startswith("to the server")
    image_notice = app.page.locator("#verify-notice").inner_text()
    assert image_notice.replace("image", "slice").split(". For")[0] == notice.split(". For")[0]
    card.get_by_role("button", name="Check this slice with the server").click()
    app.page.wait_for_selector(".scan-verify table", timeout=PAGE_TIMEOUT_MS)
    table = card.locator(".scan-verify table").inner_text()
    assert all(label in table for label in app.labels) and "Server" in table
    out = card.locator(".scan-verify").inner_text()
    assert out.startswith("Slice 8 of 16") and "Largest probability difference" in out
    assert not app.problems(), app.problems()


def test_dicom_series_slices_are_named_by_instance_number_and_position(app):
    app.upload(dicom_series(np.round(head_phantom((96, 96, 12))), spacing=(1.0, 1.0, 2.5)))
    app.page.wait_for_selector(".scan-summary", timeout=PAGE_TIMEOUT_MS)
    slider = app.page.locator(".scan-slider input[type=range]")
    slider.fill("1")
    wait_for_text(app, ".scan-slice-label", r"^Slice 1 of 12 \(InstanceNumber 1, 0\.0 mm\)")
    slider.fill("12")
    wait_for_text(app, ".scan-slice-label", r"^Slice 12 of 12 \(InstanceNumber 12, 27\.5 mm\)")
    assert app.page.inner_text("#progress-label").startswith("1 of 1 done")
