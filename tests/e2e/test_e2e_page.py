"""What a person sees on the page, beyond the answers themselves: a batch frees its tensors,
result levels, failures, folder imports, multi-frame files, phones and the keyboard."""
from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.conftest import DATA_DIR
from tests.e2e.harness import (
    LEVEL_HEADLINES,
    SCREENSHOTS,
    decision,
    dicom_file,
    expected_level,
    generated_png,
    open_app,
    png_bytes,
    screenshot,
    some_slices,
)


def test_a_batch_and_its_heatmap_leave_no_tensor_behind(app):
    """TF.js tensors before and after classifying a batch through the page and drawing a heatmap:
    a leak would grow with every file of a folder of hundreds."""
    png, jpeg = some_slices()
    before = app.page.evaluate("window.classifier.memory()")
    batch = [(f"{i}-{s.name}", s.data) for i in range(3) for s in (png, jpeg)]
    app.upload(batch)
    app.wait_for_batch(len(batch))
    app.wait_for_heatmap()
    after = app.page.evaluate("window.classifier.memory()")
    assert after["numTensors"] == before["numTensors"], (before, after)
    assert after["numBytes"] == before["numBytes"], (before, after)


def detail(app) -> dict:
    """What the detail panel shows: visible parts and their text."""
    return app.page.evaluate("""() => {
        const shown = (id) => { const e = document.getElementById(id); return !!e && !e.closest('[hidden]'); };
        const text = (id) => document.getElementById(id).textContent.trim();
        return { verdict: text('verdict'), detail: text('verdict-detail'), reasons: text('reasons'),
                 cutoffs: shown('cutoffs') ? text('cutoffs') : null,
                 error: shown('detail-error') ? text('detail-error') : null,
                 viewer: shown('viewer'), verify: shown('verify-section'), probabilities: shown('probabilities'),
                 probabilitiesOpen: document.getElementById('probabilities').open, caption: text('heatmap-caption'),
                 explain: shown('explain'), warnings: shown('warnings'),
                 verdictClass: document.getElementById('verdict').className };
    }""")


def test_a_borderline_slice_says_possible_tumour_with_the_cut_offs(app, keras):
    """A real slice whose Keras tumour probability lies in the middle band (found here, not
    written down) is shown as "possible tumour", with the cut-offs beside it."""
    tumour_cut, possible_cut = decision(keras.metadata)
    edge = min(0.03, (tumour_cut - possible_cut) / 4)  # 0.45-0.5 left no room for a 0.03 margin
    found = None
    for collection in ("brain-mri-yes-no", "brain-mri-lgg-flair", "brain-mri-4class"):
        root = DATA_DIR / collection
        if not root.is_dir():
            continue
        paths = sorted(p for p in root.rglob("*")
                       if p.is_file() and p.suffix.lower() in {".jpg", ".jpeg", ".png"})[:400]
        for path, probabilities in zip(paths, keras.probabilities_of_files(paths)):
            p = 1 - probabilities[keras.metadata["no_tumor_label"]]
            # Away from both cut-offs (the page and Keras may differ by 1e-4), within a narrow band too.
            if possible_cut + edge <= p <= tumour_cut - edge:
                found = path
                break
        if found:
            break
    if not found:
        pytest.skip(f"no real slice scores between {possible_cut:.3g} and {tumour_cut:.3g} with this model")
    png = png_bytes(Image.open(found))  # lossless, so the page and Keras read the same pixels
    app.upload([(found.stem + ".png", png)])
    app.wait_for_batch(1)
    result = app.classify(found.stem + ".png", png)
    assert result["level"] == "possible", result
    row = app.rows()[found.stem + ".png"]
    assert row["verdict"] == "Possible tumour: look closely", row
    shown = detail(app)
    assert shown["verdict"] == "Possible tumour: look closely" and "possible" in shown["verdictClass"], shown
    assert shown["detail"].startswith("Tumour probability") and "likely type" in shown["detail"], shown
    assert all(f"{round(100 * cut)}" in shown["cutoffs"] for cut in (possible_cut, tumour_cut)), shown
    # The server check compares levels: it must not call a "possible tumour" the same answer as
    # a server's "notumor" top class (issue 22), and says what each side's level is.
    app.page.click("#verify")
    app.page.wait_for_function("() => /answer/.test(document.getElementById('verify-result').textContent)")
    said = app.page.inner_text(".verify-verdict")
    assert "both say notumor" not in said and '"Possible tumour: look closely"' in said, said
    assert said.startswith("Same answer: both say \"Possible tumour") or said.startswith("Different answers"), said
    app.wait_for_heatmap()
    screenshot(app, "possible-tumour", "detail")


def colour_photo() -> bytes:
    """A colour photograph-like image of shapes on a light background: nothing like an MRI slice."""
    image = Image.new("RGB", (320, 240), (235, 225, 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 180, 180), fill=(200, 30, 40))
    draw.rectangle((170, 90, 290, 210), fill=(30, 90, 200))
    draw.polygon([(100, 230), (160, 130), (220, 230)], fill=(40, 160, 60))
    return png_bytes(image)


def test_a_colour_photo_gets_no_verdict_only_its_reasons(app):
    photo = colour_photo()
    result = app.classify("photo.png", photo)
    assert result["level"] == "not-mri" and result["reasons"], result
    app.upload([("photo.png", photo)])
    app.wait_for_batch(1)
    row = app.rows()["photo.png"]
    assert row["verdict"].startswith("No result") and row["tumour"] == "–" and row["type"] == "–", row
    shown = detail(app)
    assert shown["verdict"].startswith("No result"), shown
    assert "colour" in shown["reasons"], shown
    assert "Tumour" not in shown["verdict"] + shown["detail"] and shown["cutoffs"] is None, shown
    # The probabilities stay available, folded away; no heatmap is offered.
    assert shown["probabilities"] and not shown["probabilitiesOpen"], shown
    assert shown["caption"] == "" and not shown["explain"], shown
    screenshot(app, "not-mri", "detail")


def test_an_unreadable_file_shows_only_its_reason(app):
    """After a good file, a truncated JPEG: the panel holds its reason in plain words and nothing
    of the file before (no image, no heatmap caption, no probabilities, no controls)."""
    png, jpeg = some_slices()
    app.upload([(png.name, png.data)])
    app.wait_for_batch(1)
    app.wait_for_heatmap()
    app.upload([("truncated.jpg", jpeg.data[: len(jpeg.data) // 2])])
    app.wait_for_batch(2)
    shown = detail(app)
    assert shown["verdict"] == "Could not be read", shown
    assert shown["error"].startswith("truncated.jpg could not be read") and "export it again" in shown["error"], shown
    assert "decoded" not in shown["error"] and "source image" not in shown["error"], shown
    assert not shown["viewer"] and not shown["verify"] and not shown["probabilities"] and not shown["warnings"], shown
    assert shown["caption"] == "", shown
    screenshot(app, "unreadable-file", "detail")


def test_the_heatmap_is_drawn_on_a_fixed_scale_with_a_legend(app):
    """The overlay's strongest pixel is no stronger than its largest change allows on the fixed
    scale (a map scaled to its own peak would be at full strength whatever the change)."""
    png, _ = some_slices()
    app.upload([(png.name, png.data)])
    app.wait_for_batch(1)
    app.wait_for_heatmap()
    label = app.page.input_value("#explain-label")
    peak, full_scale = app.page.evaluate("""async ([b64, name, label]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const { map } = await window.classifier.explain(new File([bytes], name), { label });
        const { HEATMAP_FULL_SCALE } = await import('./js/shared/explain.js');
        return [Math.max(...map), HEATMAP_FULL_SCALE];
    }""", [base64.b64encode(png.data).decode(), png.name, label])
    alpha = app.page.evaluate("""() => { const c = document.getElementById('heatmap');
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return Math.max(...pixels.filter((_, i) => i % 4 === 3)); }""")
    assert alpha <= 255 * min(1, 1.25 * peak / full_scale) + 2, (alpha, peak)
    caption = app.page.inner_text("#heatmap-caption")
    assert app.page.is_visible("#heatmap-legend") and "50" in app.page.inner_text("#heatmap-legend"), caption
    if peak >= 0.01:
        assert "full colour means 50 percentage points or more" in caption, caption
    else:
        assert "nearly clear" in caption, caption


def test_junk_files_of_a_folder_are_skipped_and_counted_and_duplicates_noted(app):
    png, jpeg = some_slices()
    junk = {"._scan.png": b"\x00\x05\x16\x07" + bytes(60), "thumbs.db": b"\xd0\xcf\x11\xe0" + bytes(60),
            "desktop.ini": b"[.ShellClassInfo]\n", ".DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(40)}
    readme = ("README.txt", b"scans from the teaching file\n")
    app.upload([*junk.items(), readme, (png.name, png.data), (jpeg.name, jpeg.data), ("copy-" + png.name, png.data)])
    app.wait_for_batch(4)
    rows = app.rows()
    assert set(rows) == {png.name, jpeg.name, "copy-" + png.name, "README.txt"}, rows  # no row for a junk file
    # A document is no junk: its own row says what it is and what to do.
    assert rows["README.txt"]["verdict"] == "Not an image", rows
    assert rows["README.txt"]["error"].startswith("README.txt is a text file, not an image"), rows
    assert all(row["error"] is None for name, row in rows.items() if name != "README.txt"), rows
    skipped = app.page.inner_text("#skipped")
    assert skipped.startswith("Skipped 4 files that are not images") and all(name in skipped for name in junk), skipped
    assert rows["copy-" + png.name]["note"] == f"Same file as {png.name} (identical bytes).", rows
    assert rows[png.name]["note"] is None and rows[jpeg.name]["note"] is None, rows
    # The page opened the first image, not an error.
    assert app.page.inner_text("#detail-name") == png.name
    screenshot(app, "folder-import", "input-heading", "results-panel")


def slices_as_frames() -> list[np.ndarray]:
    """Four 256 x 256 frames: real slices (one normal, three tumours) where ../shared/data is
    present, generated ones elsewhere."""
    root = DATA_DIR / "brain-mri-4class"
    if root.is_dir():
        folders = ["notumor", "glioma", "meningioma", "pituitary"]
        paths = [sorted((root / f).iterdir())[3] for f in folders]
        images = [np.asarray(Image.open(p).convert("L").resize((256, 256)), np.float64) for p in paths]
    else:
        images = [np.asarray(Image.open(io.BytesIO(generated_png(i, tumour=i > 0))).convert("L"),
                             np.float64) for i in range(4)]
    return [image * 16 for image in images]


def test_a_multi_frame_file_names_its_frame_and_its_worst_frame_in_the_row_and_the_csv(app):
    data = dicom_file(np.stack(slices_as_frames()))
    app.upload([("series.dcm", data)])
    app.wait_for_batch(1)
    per_frame = app.page.evaluate("""async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const out = [];
        for (let frame = 0; frame < 4; frame += 1) {
          out.push(await window.classifier.classify(new File([bytes], 'series.dcm'), { frame }));
        }
        return out.map((r) => ({ level: r.level, p: r.tumorProbability }));
    }""", base64.b64encode(data).decode())
    rank = {"not-mri": 0, "none": 1, "possible": 2, "likely": 3}
    worst = max(range(4), key=lambda f: rank[per_frame[f]["level"]] + per_frame[f]["p"])
    shown = 2  # the middle frame of four, the page's default
    note = app.rows()["series.dcm"]["note"]
    assert note.startswith(f"Frame {shown + 1} of 4 shown."), note
    if worst != shown:
        assert f"Most concerning: frame {worst + 1} " in note, (note, per_frame)

    with app.page.expect_download() as download:
        app.page.click("#export-csv")
    lines = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(lines) == 1
    assert lines[0]["frame"] == f"{shown + 1}/4" and lines[0]["worst_frame"] == f"{worst + 1}/4", lines[0]
    assert lines[0]["worst_level"] == per_frame[worst]["level"], lines[0]
    assert abs(float(lines[0]["worst_tumor_probability"]) - per_frame[worst]["p"]) < 1e-6, lines[0]

    # The frame box refuses frames the file does not have, with a message, and keeps the result.
    for value in ("0", "9"):
        app.page.fill("#frame", value)
        app.page.dispatch_event("#frame", "change")
        message = app.page.inner_text("#frame-message")
        assert message == f"There is no frame {value}: this file has frames 1 to 4.", message
        assert app.rows()["series.dcm"]["note"].startswith(f"Frame {shown + 1} of 4 shown."), app.rows()
    app.page.fill("#frame", "1")
    app.page.dispatch_event("#frame", "change")
    app.page.wait_for_function("() => document.querySelector('#results-body tr "
                               ".row-note')?.textContent.startsWith('Frame 1 of 4')")
    assert app.page.is_hidden("#frame-message")
    screenshot(app, "multi-frame", "results-panel", "detail")


EXAMPLES = Path(__file__).resolve().parents[2] / "frontend" / "examples"


def test_try_an_example_classifies_the_shipped_slices_as_a_users_files(app, keras):
    """One click on the first screen: the shipped slices go through the user's path (the table,
    the detail panel) and get Keras's levels."""
    app.page.get_by_role("button", name="Try an example").click()
    files = sorted(EXAMPLES.glob("*.jpg"))
    app.wait_for_batch(len(files))
    rows = app.rows()
    assert sorted(rows) == [f.name for f in files], rows
    for path, expected in zip(files, keras.probabilities_of_files(files)):
        row = rows[path.name]
        assert row["error"] is None, (path.name, row)
        assert row["verdict"] == LEVEL_HEADLINES[expected_level(expected, app.info["metadata"])], (path.name, row)
    assert rows["glioma-t2-upenn-gbm-00002.jpg"]["verdict"] == LEVEL_HEADLINES["likely"], rows
    assert app.page.inner_text("#detail-name") == files[0].name  # the first added, selected
    assert "CC BY 3.0" in app.page.inner_text("#example-sources")


def test_on_a_phone_the_verdict_comes_first_and_a_tap_brings_it_into_view(browser, site):
    app = open_app(browser, site, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                   device_scale_factor=2)
    try:
        slices = some_slices()
        # Long names without spaces, as scanners and phones write them.
        batch = [(f"{i}-axial_T1_contrast_enhanced_slice_0042_{s.name}", s.data) for i in range(4) for s in slices]
        app.upload(batch)
        app.wait_for_batch(len(batch))
        # The table shows file, result and tumour probability without sideways scrolling.
        layout = app.page.evaluate("""() => {
            const wrap = document.querySelector('#results-panel .table-wrap');
            const head = [...document.querySelectorAll('#results thead th')].filter((th) => th.offsetParent !== null)
                .map((th) => th.textContent.trim());
            return { head, overflow: wrap.scrollWidth - wrap.clientWidth };
        }""")
        assert layout["head"][:3] == ["File ↕", "Result ↕", "Tumour probability ↕"] or \
            [h.rstrip(" ↕") for h in layout["head"]] == ["File", "Result", "Tumour probability"], layout
        assert layout["overflow"] <= 1, layout
        app.page.locator("#results-body .row-link").nth(5).tap()
        app.page.wait_for_function("() => document.getElementById('detail-name').textContent.startsWith('2-')")
        app.page.wait_for_timeout(300)
        box = app.page.evaluate("""() => {
            const rect = (id) => document.getElementById(id).getBoundingClientRect();
            return { verdict: rect('verdict').top, verdictBottom: rect('verdict').bottom, preview: rect('preview').top,
                     height: innerHeight, text: document.getElementById('verdict').textContent };
        }""")
        assert box["text"], box
        assert 0 <= box["verdict"] and box["verdictBottom"] <= box["height"] / 3, box  # near the top of the screen
        assert box["verdict"] < box["preview"], box  # above the image
        # Nothing is wider than the screen with a file's details and its heatmap legend shown.
        app.wait_for_heatmap()
        wide = app.page.evaluate("""() => ({ page: document.documentElement.scrollWidth,
            heading: document.getElementById('detail-heading').scrollWidth,
            legend: document.getElementById('heatmap-legend').scrollWidth })""")
        assert wide["page"] <= 390, wide
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        app.page.screenshot(path=SCREENSHOTS / "phone.png")
    finally:
        app.context.close()


def test_the_keyboard_reaches_the_detail_panel_past_a_long_table_in_a_few_keys(app):
    png, jpeg = some_slices()
    batch = [(f"{i:02d}-{s.name}", s.data) for i in range(10) for s in (png, jpeg)]
    app.upload(batch)
    app.wait_for_batch(len(batch))
    app.page.focus("#clear")
    app.page.keyboard.press("Tab")
    # Into the table: the sort buttons, then one file name, then out of the table.
    stops = []
    for _ in range(8):
        stops.append(app.page.evaluate("document.activeElement.className + ':' + "
                                       "document.activeElement.textContent.trim()"))
        if stops[-1].startswith("row-link"):
            break
        app.page.keyboard.press("Tab")
    assert stops[-1].startswith("row-link:"), stops
    app.page.keyboard.press("Tab")
    after = app.page.evaluate("document.activeElement.className")
    assert after != "row-link", "every file name is a Tab stop"
    app.page.keyboard.press("Shift+Tab")
    first = app.page.evaluate("document.activeElement.textContent")
    app.page.keyboard.press("ArrowDown")
    app.page.keyboard.press("ArrowDown")
    third = app.page.evaluate("document.activeElement.textContent")
    names = [row for row in app.rows()]
    assert (first, third) == (names[0], names[2]), (first, third, names[:3])
    app.page.keyboard.press("End")
    assert app.page.evaluate("document.activeElement.textContent") == names[-1]
    app.page.keyboard.press("Home")
    app.page.keyboard.press("ArrowDown")
    app.page.keyboard.press("Enter")
    assert app.page.evaluate("document.activeElement.id") == "detail-heading"
    assert app.page.inner_text("#detail-name") == names[1]
    # Tab from the heading goes straight into the answer and the image's controls.
    app.page.keyboard.press("Tab")
    assert app.page.evaluate("document.activeElement.closest('#detail') !== null")


def test_the_model_card_leads_with_the_scanner_warning_and_states_the_cut_offs(app):
    app.page.wait_for_function("() => document.querySelector('#model-card section') !== null")
    card = app.page.evaluate("""() => ({
        callout: [...document.querySelectorAll('#card-disclaimer p')].map((p) => p.textContent),
        titles: [...document.querySelectorAll('#model-card section > h3')].map((h) => h.textContent),
        reading: document.querySelector('#model-card section[aria-label="How to read a result"]').innerText,
        trained: document.querySelector('#model-card section[aria-label="What it was trained on"]').innerText,
        openTechnical: [...document.querySelectorAll('#model-card details.technical')].filter((d) => d.open).length,
        technical: document.querySelectorAll('#model-card details.technical').length,
    })""")
    assert card["callout"][0].startswith("Expect fewer tumours found on your own scans"), card
    assert "not a medical device" in card["callout"][1], card
    assert card["titles"][0] == "How to read a result", card
    tumour_cut, possible_cut = decision(app.info["metadata"])
    assert f"{round(100 * possible_cut)}" in card["reading"] and f"{round(100 * tumour_cut)}" in card["reading"], card
    assert "MRI sequences" in card["trained"] and "slice planes" in card["trained"] and "Cite:" in card["trained"], card
    assert card["technical"] >= 2 and card["openTechnical"] == 0, card
    screenshot(app, "model-card", "card-heading", "model-card")


def test_a_phantom_and_a_grey_drawing_get_no_verdict_from_the_feature_scope(app):
    from training.ood_images import generated

    images = generated(per_family=3, seed=7)
    for name, data in (("phantom.png", images["phantom"]["water-bottle disc"][0]),
                       ("drawing.png", images["drawing"]["face line drawing on grey"][0])):
        result = app.classify(name, data)
        assert result["level"] == "not-mri", (name, result)
        assert result["featureScope"]["outOfScope"], (name, result)
        assert any("unlike the MRI slices" in reason for reason in result["reasons"]), (name, result)
