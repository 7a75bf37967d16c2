"""The viewer in Chromium against the real server: a real slice opens at its full size, window/level
and the heatmap's opacity change the pixels shown, a BraTS volume opens in three planes; the only
request is NiiVue's own file, nothing carries image data, and the page's CSP is never violated."""
from __future__ import annotations

import io
import itertools

import numpy as np

from tests.conftest import real_data
from tests.e2e.harness import PAGE_TIMEOUT_MS, SCREENSHOTS, some_slices
from tests.volume_samples import brats_path, brats_patients

OPEN = "Open viewer (full resolution)"
STATUS = ".image-viewer .viewer-status"
# Mean change, in 8-bit levels over the canvas, that counts as "the pixels shown changed".
CHANGED = 2.0
_shots = itertools.count()  # each canvas read is kept as SCREENSHOTS/viewer-<n>.png


def shown(app) -> np.ndarray:
    """The viewer's canvas as the screen shows it (RGB, float)."""
    from PIL import Image

    app.page.wait_for_timeout(300)  # NiiVue draws on the next animation frame
    png = app.page.locator(".image-viewer canvas").screenshot()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"viewer-{next(_shots)}.png").write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def set_window(app, centre: float, width: float) -> None:
    for label, value in (("Window centre (level)", centre), ("Window width", width)):
        box = app.page.get_by_role("dialog").get_by_label(label)
        box.fill(str(value))
        box.dispatch_event("change")


def wait_for_status(app, pattern: str) -> str:
    app.page.wait_for_function(f"() => /{pattern}/.test(document.querySelector('{STATUS}')?.textContent)",
                               timeout=PAGE_TIMEOUT_MS)
    return app.page.inner_text(STATUS)


def assert_only_niivue_fetched(app, mark) -> None:
    sent, served = app.requests_since(mark)
    # DevTools also lists NiiVue's built-in font and texture, data: URLs that go nowhere.
    sent = [r for r in sent if not r.url.startswith("data:")]
    assert all(r.method == "GET" and not r.has_body and r.url.endswith("/vendor/niivue.js") for r in sent), sent
    assert all(line.startswith("GET /vendor/niivue.js") for line in served), served


def problems(app) -> list[str]:
    # SwiftShader (software WebGL) reports its own performance notes as console warnings.
    return [p for p in app.problems() if "GL Driver Message" not in p]


def test_an_image_opens_at_full_size_and_window_level_and_heatmap_change_what_is_shown(app):
    from PIL import Image

    png, _ = some_slices()
    width, height = Image.open(io.BytesIO(png.data)).size
    app.upload([(png.name, png.data)])
    app.wait_for_batch(1)
    app.wait_for_heatmap()
    mark = app.mark()
    app.page.get_by_role("button", name=OPEN).click()
    status = wait_for_status(app, "pixels")
    assert status == f"{width} × {height} pixels, at full resolution", status
    assert app.page.get_by_role("dialog", name=f"Viewer: {png.name}").is_visible()
    full = shown(app)
    assert full.std() > 10, "the viewer shows no image"
    # The widest window of the 8-bit slice first, then a narrow one at mid-grey: more contrast.
    assert float(app.page.get_by_role("dialog").get_by_label("Window width").input_value()) > 0
    set_window(app, 128, 40)
    narrow = shown(app)
    assert np.abs(narrow - full).mean() > CHANGED, "window/level did not change the pixels shown"
    # The heatmap overlay: full opacity against none.
    opacity = app.page.get_by_role("dialog").get_by_label("Heatmap opacity")
    opacity.fill("0")
    clear = shown(app)
    opacity.fill("100")
    assert np.abs(shown(app) - clear).mean() > 0.1, "the heatmap overlay does not show"
    app.page.keyboard.press("Escape")
    app.page.wait_for_selector(".image-viewer", state="detached")
    assert_only_niivue_fetched(app, mark)
    assert not problems(app), problems(app)


def test_a_brats_volume_opens_in_three_planes(app):
    real_data("volumes/brats2018")
    path = brats_path(brats_patients()[1], "t1ce")
    import nibabel as nib

    shape = nib.load(path).shape
    app.upload([(path.name, path.read_bytes())])
    app.page.wait_for_selector(".scan-summary", timeout=PAGE_TIMEOUT_MS)
    mark = app.mark()
    app.page.locator(".scan-card").get_by_role("button", name=OPEN).click()
    status = wait_for_status(app, "voxels")
    # The page's axial view of it (the BraTS volumes are stored axially): columns x rows x slices.
    assert status.startswith(f"{shape[0]} × {shape[1]} × {shape[2]} voxels, in three planes"), status
    before = shown(app)
    # Three planes side by side: three separate runs of columns with grey head in them (the
    # crosshair's red lines left out).
    grey = (np.ptp(before, axis=2) < 10) & (before.mean(axis=2) > 20)
    columns = grey.sum(axis=0) > 5
    runs = np.count_nonzero(np.diff(columns.astype(int)) == 1) + int(columns[0])
    assert runs >= 3, f"{runs} planes shown"
    set_window(app, 60, 40)
    assert np.abs(shown(app) - before).mean() > CHANGED, "window/level did not change the pixels shown"
    app.page.get_by_role("button", name="Close").click()
    app.page.wait_for_selector(".image-viewer", state="detached")
    assert_only_niivue_fetched(app, mark)
    assert not problems(app), problems(app)
