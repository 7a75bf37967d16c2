"""What the end-to-end suite drives: the real server, the page in Chromium, the Keras reference.

- `site` (session): gunicorn serving the Django site exactly as `make serve` runs it
  (`gunicorn -c site/gunicorn.conf.py`, whitenoise over `make static`'s collected files, the Keras
  fallback API), on a free 127.0.0.1 port, with its access log read line by line: the server's own
  record of every request that reached it.
- `browser` (session): Debian's /usr/bin/chromium driven by Playwright (never a downloaded browser).
- `app` (per test): the page in a fresh browser context (empty caches, no service worker yet),
  loaded and ready, with every request (page, its worker and the service worker), every console
  message and every Content-Security-Policy violation recorded.
- `keras` (session): the reference answer, `frontend/model/model.h5` run by Keras on
  `mri.images.load_model_input` of the same bytes.

The fixtures that hold them are in conftest.py. Tests skip, saying why, where Chromium,
Playwright or (for the real-image tests) ../shared/data is missing; `make test` installs the first two.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.browser import CLASSIFY
from testbed.server import Gunicorn, start_gunicorn, wait_until_ready
from tests.conftest import DATA_DIR, REPO, blob_image

MODEL_DIR = REPO / "frontend" / "model"
SERVER_START_TIMEOUT_S = 240  # every worker imports TensorFlow and loads the model; the CPU may be busy
PAGE_TIMEOUT_MS = 120_000  # loading and warming up the model in a busy 2-core machine
SETTLE_S = 0.5  # quiet time after an action before its requests are counted: late fetches show up
# Real slices per class from brain-mri-4class, each as its JPEG file and as a PNG of Pillow's decoding.
IMAGES_PER_CLASS = 2

# Page vs Keras (and vs the API), largest allowed difference in any class probability.
# PNG (and DICOM): the same pixels reach both, so only preprocessing (float32 luma, bilinear
# resize) and the model's arithmetic (TF.js wasm vs TensorFlow) differ: hence 1e-4.
PNG_TOLERANCE = 1e-4
# JPEG: Chromium's and Pillow's decoders may round some pixels differently (test_e2e_keras.py
# measures it: 0 levels here, both are libjpeg-turbo); a label may differ only where Keras's top
# two classes are closer than this.
JPEG_TOLERANCE = 0.02

# Figures measured by the tests, printed in the terminal summary (page vs Keras, page vs API).
FIGURES: dict[str, str] = {}
# Screenshots of the page's states: an ignored folder, so `make test` leaves the tree clean;
# `make screenshots` points this at reports/screenshots to refresh the committed ones.
SCREENSHOTS = Path(os.environ.get("MRI_SCREENSHOTS") or REPO / ".cache" / "screenshots")


# ------------------------------------------------------------------------------------ the server

@dataclass
class SiteServer(Gunicorn):
    """gunicorn as `make serve` starts it (testbed.server), with what a test asks of it."""

    def mark(self) -> int:
        return len(self.access)

    def requests_since(self, mark: int) -> list[str]:
        """The request lines ('GET /path HTTP/1.1') the server logged after `mark`."""
        time.sleep(SETTLE_S)  # the log line is written after the response
        return [m.group(1) for line in self.access[mark:] if (m := re.search(r'"([A-Z]+ [^"]*)"', line))]

    def post(self, path: str, data: bytes, filename: str) -> tuple[int, dict]:
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(self.url + path.lstrip("/"), data=body, method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")


def collect_static() -> None:
    """`make static`: a no-op when site/staticfiles is newer than every file of the page."""
    done = subprocess.run(["make", "--no-print-directory", "static"], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`make static` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


# A developer's shell may point the site elsewhere; the tests serve what `make serve` serves.
SITE_DEFAULTS = {name: None for name in ("DJANGO_DEBUG", "MRI_STATIC_ROOT", "MRI_FRONTEND_DIR", "MRI_MODEL_DIR",
                                         "GUNICORN_ACCESS_LOG")}


def start_site() -> SiteServer:
    """gunicorn on a free port, as `make serve` runs it, once `make static` is done; healthy."""
    collect_static()
    server = start_gunicorn(SITE_DEFAULTS, server_class=SiteServer)
    wait_until_ready(server, SERVER_START_TIMEOUT_S)
    return server


# ----------------------------------------------------------------------------------- the browser

# Reports CSP violations of the page to its console, where the recorder below sees them.
REPORT_CSP_VIOLATIONS = """document.addEventListener('securitypolicyviolation', (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} ` +
                `in ${e.sourceFile}:${e.lineNumber}`));"""


@dataclass
class Recorded:
    """One request as the browser made it. `has_body`: Playwright leaves `post_data` empty for a
    FormData holding a file, so a body is also inferred from the request's Content-Type or
    Content-Length header (a GET has neither)."""

    url: str
    method: str
    has_body: bool
    resource_type: str
    from_service_worker: bool

    @classmethod
    def of(cls, request) -> Recorded:
        headers = {name.lower() for name in request.headers}
        has_body = request.post_data_buffer is not None or bool(headers & {"content-type", "content-length"})
        return cls(request.url, request.method, has_body, request.resource_type, request.service_worker is not None)

    def __str__(self) -> str:
        origin = " (service worker)" if self.from_service_worker else ""
        return f"{self.method} {self.url} [{self.resource_type}]{origin}{' with a body' if self.has_body else ''}"


@dataclass
class Mark:
    """Where each record stood at a moment: what came after it is what an action did."""

    requests: int
    devtools: int
    server: int


@dataclass
class App:
    """The page, loaded and ready, with what it did recorded three ways: Playwright's request
    events (the page, its worker, the service worker), DevTools' Network log of the page (with
    request bodies), and the server's access log."""

    page: object
    context: object
    devtools: object  # the page's CDP session
    site: SiteServer
    info: dict = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    devtools_requests: list[dict] = field(default_factory=list)  # Network.requestWillBeSent's `request`, with its id
    console: list[str] = field(default_factory=list)
    csp_issues: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return self.info["metadata"]["labels"]

    def mark(self) -> Mark:
        return Mark(len(self.requests), len(self.devtools_requests), self.site.mark())

    def requests_since(self, mark: Mark) -> tuple[list[Recorded], list[str]]:
        """(what the browser sent, what the server logged) after `mark`."""
        server = self.site.requests_since(mark.server)  # waits SETTLE_S first
        devtools_only = [Recorded(r["url"], r["method"], bool(r.get("hasPostData")), "devtools", False)
                         for r in self.devtools_requests[mark.devtools:]
                         if r["url"] not in {seen.url for seen in self.requests[mark.requests:]}]
        return self.requests[mark.requests:] + devtools_only, server

    def bodies_since(self, mark: Mark) -> list[bytes]:
        """The bodies the page itself sent after `mark`, as DevTools saw them."""
        return [base64.b64decode(self.devtools.send("Network.getRequestPostData",
                                                    {"requestId": r["requestId"]})["postData"])
                for r in self.devtools_requests[mark.devtools:] if r.get("hasPostData")]

    def problems(self) -> list[str]:
        """Console errors and warnings (CSP violations among them) and CSP issues from DevTools."""
        return [m for m in self.console if m.startswith(("error", "warning", "pageerror"))] + self.csp_issues

    # ---- the page's UI
    def upload(self, files: list[tuple[str, bytes]]) -> None:
        """Pick files with the page's file input, as a person does with "Choose files…"."""
        self.page.set_input_files("#file-input", [
            {"name": name, "mimeType": mime_type(name, data), "buffer": data} for name, data in files])

    def wait_for_batch(self, count: int) -> None:
        self.page.wait_for_function(
            "(n) => { const p = document.getElementById('progress'); return p.max === n && p.value === n; }",
            arg=count, timeout=PAGE_TIMEOUT_MS)

    def rows(self) -> dict[str, dict]:
        """The results table: file name -> {verdict, tumour, type, ms, error, note}."""
        rows = self.page.evaluate("""() => [...document.querySelectorAll('#results-body tr')].map((tr) => ({
            name: tr.cells[0].querySelector('.row-link').textContent,
            error: tr.cells[0].querySelector('.status-error')?.textContent ?? null,
            note: [...tr.cells[0].querySelectorAll('.row-note')].map((n) => n.textContent).join(' ') || null,
            verdict: tr.cells[1].textContent, tumour: tr.cells[2].textContent,
            type: tr.cells[3].textContent, ms: tr.cells[4].textContent}))""")
        return {row.pop("name"): row for row in rows}

    def wait_for_heatmap(self) -> None:
        """Until the selected file's heatmap is drawn. The page computes it unasked only where that
        is quick (a busy CPU may make it slow); else it offers a button, which this presses."""
        caption = "document.getElementById('heatmap-caption').textContent"
        self.page.wait_for_function(f"() => /^(Heatmap for|Hiding any part|The heatmap takes)/.test({caption})",
                                    timeout=PAGE_TIMEOUT_MS)
        if self.page.is_visible("#explain"):
            self.page.click("#explain")
        self.page.wait_for_function(f"() => /^(Heatmap for|Hiding any part)/.test({caption})", timeout=PAGE_TIMEOUT_MS)

    # ---- window.classifier, the page's JS API
    def classify(self, name: str, data: bytes) -> dict:
        result = self.page.evaluate(CLASSIFY, [base64.b64encode(data).decode("ascii"), name])
        assert "error" not in result, f"the page could not classify {name}: {result['error']}"
        return result


def screenshot(app: App, state: str, first: str, last: str | None = None) -> None:
    """The page from element #first to #last (default: the same), as SCREENSHOTS/<state>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app.page.locator(f"#{first}").scroll_into_view_if_needed()
    clip = app.page.evaluate("""([first, last]) => {
        const top = document.getElementById(first).getBoundingClientRect();
        const bottom = document.getElementById(last).getBoundingClientRect();
        return { x: 0, y: top.top + window.scrollY - 8, width: document.documentElement.clientWidth,
                 height: Math.min(bottom.bottom - top.top + 16, 1400) };
    }""", [first, last or first])
    app.page.screenshot(path=SCREENSHOTS / f"{state}.png", clip=clip, full_page=True)


def mime_type(name: str, data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return "application/dicom" if name.endswith(".dcm") else "application/octet-stream"


_contexts = iter(range(1, 1_000_000))


def tagged_user_agent(browser) -> str:
    """Chromium's user agent plus a context number, so the server's log says which test's page
    sent a request (the browser's own service-worker update checks keep the plain one)."""
    probe = browser.new_context()
    try:
        plain = probe.new_page().evaluate("navigator.userAgent")
    finally:
        probe.close()
    return f"{plain} e2e-context/{next(_contexts)}"


def open_app(browser, site: SiteServer, viewport: dict | None = None, **device) -> App:
    """The page in a fresh context (a 1280 x 900 desktop unless `viewport` and device options,
    such as is_mobile and has_touch, say otherwise)."""
    user_agent = tagged_user_agent(browser)
    context = browser.new_context(service_workers="allow", viewport=viewport or {"width": 1280, "height": 900},
                                  user_agent=user_agent, **device)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    app = App(page, context, context.new_cdp_session(page), site)
    context.on("request", lambda request: app.requests.append(Recorded.of(request)))
    page.on("console", lambda message: app.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: app.console.append(f"pageerror: {error}"))
    app.devtools.on("Network.requestWillBeSent", lambda event: app.devtools_requests.append(
        {**event["request"], "requestId": event["requestId"]}))
    # DevTools' own report of CSP violations (Audits), in case one never reaches the page's console.
    app.devtools.on("Audits.issueAdded", lambda event: app.csp_issues.append(json.dumps(event["issue"]))
                    if event["issue"]["code"] == "ContentSecurityPolicyIssue" else None)
    app.devtools.send("Network.enable")
    app.devtools.send("Audits.enable")
    page.goto(site.url)
    app.info = page.evaluate("window.classifier.ready")
    return app


def wait_until_offline_ready(app: App) -> None:
    """Until the service worker is active and has cached the app and the model (first visit)."""
    app.page.wait_for_function("""async () => {
        const registration = await navigator.serviceWorker.ready;
        if (!registration.active) return false;
        const model = await caches.open('model').then((c) => c.keys());
        return model.some((r) => r.url.includes('.bin')) && model.some((r) => r.url.includes('metadata.json'));
    }""", timeout=PAGE_TIMEOUT_MS, polling=200)
    app.page.wait_for_function("document.getElementById('offline-status').textContent.includes('ready')")


# ------------------------------------------------------------------------------------ the images

@dataclass(frozen=True)
class Sample:
    name: str
    kind: str  # "PNG" or "JPEG"
    data: bytes


def png_bytes(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def real_samples_from(root: Path) -> list[Sample]:
    """IMAGES_PER_CLASS real slices per class, each as its JPEG file and as a lossless PNG of it."""
    from PIL import Image

    samples = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir() if p.is_file())
        for path in files[:: max(1, len(files) // IMAGES_PER_CLASS)][:IMAGES_PER_CLASS]:
            data = path.read_bytes()
            kind = "JPEG" if data.startswith(b"\xff\xd8\xff") else "PNG"  # extensions lie in this data
            samples.append(Sample(path.name, kind, data))
            if kind == "JPEG":
                samples.append(Sample(f"{path.stem}.png", "PNG", png_bytes(Image.open(io.BytesIO(data)))))
    return samples


def generated_png(seed: int, tumour: bool, size: int = 256) -> bytes:
    """A brain-like generated slice (tests/conftest.py), for tests that need no real data."""
    from PIL import Image

    return png_bytes(Image.fromarray(blob_image(np.random.default_rng(seed), size, bright_spot=tumour)))


# ------------------------------------------------------------------------------------ the reference

class KerasReference:
    """frontend/model/model.h5 on mri.images.load_model_input: the answer the page must give."""

    def __init__(self):
        from mri.images import load_model_input
        from mri.layers import load_model

        self.metadata = json.loads((MODEL_DIR / "metadata.json").read_text())
        self.model = load_model(str(MODEL_DIR / "model.h5"))
        self._load = load_model_input

    def probabilities_of_files(self, paths: list[Path]) -> list[dict[str, float]]:
        """Keras's answers for many files at once (one batched call)."""
        shape = self.metadata["input"]
        x = np.stack([self._load(p.read_bytes(), shape["height"], shape["width"], shape["channels"], p.name)
                      for p in paths])
        rows = np.asarray(self.model.predict(x, verbose=0))
        return [dict(zip(self.metadata["labels"], map(float, row))) for row in rows]

    def probabilities(self, data: bytes, name: str) -> dict[str, float]:
        shape = self.metadata["input"]
        x = self._load(data, shape["height"], shape["width"], shape["channels"], name)
        p = np.asarray(self.model(x[None], training=False))[0]
        return dict(zip(self.metadata["labels"], map(float, p)))


LEVEL_HEADLINES = {"likely": "Tumour likely", "possible": "Possible tumour: look closely", "none": "No tumour found"}


def decision(metadata: dict) -> tuple[float, float]:
    """(tumour, possible) cut-offs the page applies: metadata.json's "decision", or its defaults."""
    d = metadata.get("decision") or {}
    return d.get("tumor_threshold", 0.5), d.get("possible_threshold", 0.3)


def expected_level(probabilities: dict[str, float], metadata: dict) -> str:
    """The result level of an MRI-like image with these Keras probabilities."""
    tumour, possible = decision(metadata)
    p = 1 - probabilities[metadata["no_tumor_label"]]
    return "likely" if p >= tumour else "possible" if p >= possible else "none"


def shown_percent(text: str) -> tuple[float, float]:
    """A percentage as the page shows it ("12.3 %", "> 99.9 %", "< 0.1 %") -> the (low, high)
    interval of probabilities it stands for."""
    m = re.search(r"([<>])?\s*([\d.]+)\s*%", text)
    value = float(m.group(2)) / 100
    step = 10 ** -len(m.group(2).partition(".")[2]) / 100
    if m.group(1) == ">":
        return value, 1.0
    if m.group(1) == "<":
        return 0.0, value
    return value - step / 2, value + step / 2


def top(probabilities: dict[str, float]) -> str:
    return max(probabilities, key=probabilities.get)


def margin(probabilities: dict[str, float]) -> float:
    """How far the top class is ahead of the second: a label can flip only within this."""
    first, second = sorted(probabilities.values(), reverse=True)[:2]
    return first - second


def max_difference(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[label] - b[label]) for label in a)


def some_slices() -> list[Sample]:
    """Two slices (a PNG and a JPEG) for tests that need an image, not a particular one: real
    slices where ../shared/data is present, generated ones elsewhere."""
    from PIL import Image

    root = DATA_DIR / "brain-mri-4class"
    if root.is_dir():
        real = real_samples_from(root)
        return [next(s for s in real if s.kind == "PNG"), next(s for s in real if s.kind == "JPEG")]
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(generated_png(1, tumour=True))).save(jpeg, format="JPEG", quality=90)
    return [Sample("generated.png", "PNG", generated_png(0, tumour=True)),
            Sample("generated.jpg", "JPEG", jpeg.getvalue())]


def dicom_file(pixels: np.ndarray, **patient: str) -> bytes:
    """A 16-bit MONOCHROME2 MR DICOM Part 10 file of `pixels` ([h, w], or [frames, h, w] for a
    multi-frame file; 0-4095) with the given patient fields (PatientName="Doe^Jane", ...),
    generated here: no real patient data."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for name, value in patient.items():
        setattr(ds, name, value)
    ds.Modality = "MR"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = np.clip(pixels, 0, 4095).astype("<u2").tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
