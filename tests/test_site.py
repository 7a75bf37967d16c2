"""The site: the page served by whitenoise with its headers and caching, and the Keras fallback
API's answers to good and hostile uploads. Django's test client, no server process; the page is a
small generated frontend/ collected into a temporary folder, the model is the shipped one.
"""
from __future__ import annotations

import io
import json
import logging
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import real_data

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mri_site.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-never-used-for-serving")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

from mri_site import classifier as classifier_module  # noqa: E402
from mri_site.middleware import CONTENT_SECURITY_POLICY  # noqa: E402

PREDICT = "/api/predict"
MODEL_DIR = Path(settings.MRI_MODEL_DIR)
METADATA = json.loads((MODEL_DIR / "metadata.json").read_text())
LABELS = METADATA["labels"]

EXPECTED_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
                "img-src 'self' blob: data:; worker-src 'self' blob:; style-src 'self'; "
                "object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": EXPECTED_CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


# ------------------------------------------------------------------ fixtures and helpers

@pytest.fixture(scope="module", autouse=True)
def django_test_environment():
    setup_test_environment()
    yield
    teardown_test_environment()


def write_frontend(root: Path, shard: bytes = b"\x01" * 4096) -> Path:
    """A small frontend/ with every kind of file the real one has."""
    files = {
        "index.html": '<!doctype html><script type="module" src="js/app.js"></script>'
                      '<link rel="stylesheet" href="css/app.css">' + "<p>MRI</p>" * 200,
        "js/app.js": 'import { tf } from "../vendor/lib.js";\n' + "export const x = 1;\n" * 200,
        "js/module.mjs": "export default 1;\n",
        "css/app.css": 'body { background: url("../img/logo.png"); }\n' + "p { margin: 0 }\n" * 200,
        "sw.js": "self.addEventListener('fetch', () => {});\n",
        # A vendored bundle whose source map is not shipped, as npm bundles often are.
        "vendor/lib.js": "export const tf = {};\n" * 300 + "//# sourceMappingURL=lib.js.map\n",
        "vendor/versions.json": '{"packages": {}}\n',
        "model/model.json": json.dumps({"weightsManifest": [{"paths": ["group1-shard1of1.bin"]}]}),
        "model/metadata.json": json.dumps(METADATA),
        "tests/ui.test.js": "// the page's Node tests are not published\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "vendor/tfjs-backend-wasm.wasm").write_bytes(b"\0asm\x01\0\0\0" + bytes(2048))
    (root / "model/group1-shard1of1.bin").write_bytes(shard)
    (root / "model/model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(1024))
    (root / "img").mkdir(exist_ok=True)
    Image.new("L", (4, 4)).save(root / "img/logo.png")
    return root


def collect(frontend: Path, static_root: Path) -> None:
    with override_settings(STATICFILES_DIRS=[frontend], STATIC_ROOT=static_root):
        call_command("collectstatic", interactive=False, clear=True, verbosity=0)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Settings serving a collected generated frontend/ (a fresh Client sees them)."""
    root = tmp_path_factory.mktemp("site")
    frontend, static_root = write_frontend(root / "frontend"), root / "static"
    collect(frontend, static_root)
    with override_settings(STATICFILES_DIRS=[frontend], STATIC_ROOT=static_root):
        yield static_root


@pytest.fixture
def client(site):
    return Client()


def png_bytes(image: Image.Image | None = None, fmt: str = "PNG") -> bytes:
    if image is None:
        yy, xx = np.mgrid[:128, :128]
        image = Image.fromarray(((xx * 2 + yy) % 256).astype(np.uint8))
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def noise_image(side: int, seed: int, channels: int = 1) -> Image.Image:
    shape = (side, side) if channels == 1 else (side, side, channels)
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, shape, np.uint8))


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with almost no pixel data behind it."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(64)))
            + chunk(b"IEND", b""))


def dicom_bytes(pixels: bool = True, rows: int = 64, columns: int = 64,
                rle_bomb: bool = False) -> bytes:
    """A small MR DICOM file with a patient name that must never be echoed or logged."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, RLELossless, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = RLELossless if rle_bomb else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID = "Doe^Jane", "PID-93417"
    ds.Modality = "MR"
    if pixels:
        ds.Rows, ds.Columns = rows, columns
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.WindowCenter, ds.WindowWidth = 1000, 2000
        if rle_bomb:
            # One RLE frame of a few bytes whose header promises rows x columns 16-bit pixels.
            segment = b"\x81\x00" * 8
            frame = struct.pack("<16I", 2, 64, 64 + len(segment), *([0] * 13)) + segment * 2
            ds.PixelData = encapsulate([frame])
            ds["PixelData"].VR = "OB"
        else:
            yy, xx = np.mgrid[:rows, :columns]
            ds.PixelData = ((xx * 30 + yy * 10) % 4096).astype(np.uint16).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def upload(client: Client, data: bytes, name: str = "scan.png", field: str = "image", **extra):
    return client.post(PREDICT, {field: SimpleUploadedFile(name, data)}, **extra)


def assert_error(response, status: int, *words: str) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    message = body["error"]
    assert message.endswith(".") and len(message) > 20, message  # a sentence, not a code
    for word in words:
        assert word.lower() in message.lower(), message
    return message


# ------------------------------------------------------------------ the page and its headers

def test_index_is_served_at_root_with_every_security_header(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"<p>MRI</p>" in b"".join(response.streaming_content)
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value, name
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


@pytest.mark.parametrize("url", ["/js/app.js", "/vendor/lib.js", "/vendor/tfjs-backend-wasm.wasm",
                                 "/model/model.json", "/model/group1-shard1of1.bin", "/sw.js"])
def test_static_files_carry_every_security_header(client, url):
    response = client.get(url)
    assert response.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value, (url, name)
    # Same-origin only: no wildcard CORS beside CORP same-origin.
    assert "Access-Control-Allow-Origin" not in response


def test_api_responses_carry_every_security_header(client):
    for response in (client.get("/api/model"), client.get(PREDICT), client.get("/api/nothing")):
        for name, value in SECURITY_HEADERS.items():
            assert response[name] == value, name


@pytest.mark.parametrize("url, media_type", [
    ("/vendor/tfjs-backend-wasm.wasm", "application/wasm"),
    ("/model/group1-shard1of1.bin", "application/octet-stream"),
    ("/model/model.json", "application/json"),
    ("/model/metadata.json", "application/json"),
    ("/js/app.js", "text/javascript"),
    ("/js/module.mjs", "text/javascript"),
    ("/sw.js", "text/javascript"),
    ("/css/app.css", "text/css"),
])
def test_static_files_have_their_media_type(client, url, media_type):
    assert client.get(url)["Content-Type"].split(";")[0] == media_type


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_text_files_are_served_compressed(client, encoding):
    plain = client.get("/js/app.js")
    response = client.get("/js/app.js", HTTP_ACCEPT_ENCODING=encoding)
    assert response["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response["Vary"]
    assert int(response["Content-Length"]) < int(plain["Content-Length"]) / 3


@pytest.mark.parametrize("url", ["/", "/sw.js", "/js/app.js", "/vendor/versions.json",
                                 "/model/model.json", "/model/group1-shard1of1.bin",
                                 "/model/metadata.json", "/model/model.h5"])
def test_page_model_and_service_worker_are_revalidated_on_every_use(client, url):
    response = client.get(url)
    assert response["Cache-Control"] == "no-cache"
    assert response["ETag"]


@pytest.mark.parametrize("url", ["/vendor/lib.js", "/vendor/tfjs-backend-wasm.wasm"])
def test_vendored_libraries_are_cached_long(client, url):
    assert client.get(url)["Cache-Control"] == f"public, max-age={settings.MRI_VENDOR_MAX_AGE}"
    assert settings.MRI_VENDOR_MAX_AGE >= 24 * 3600


def test_content_hashed_copies_are_cached_forever(client, site):
    manifest = json.loads((site / "staticfiles.json").read_text())["paths"]
    response = client.get("/" + manifest["vendor/lib.js"])
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]


def test_unchanged_file_is_not_downloaded_again(client):
    etag = client.get("/vendor/tfjs-backend-wasm.wasm")["ETag"]
    assert client.get("/vendor/tfjs-backend-wasm.wasm", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_replaced_model_is_served_new_under_the_same_name(tmp_path):
    frontend, static_root = write_frontend(tmp_path / "frontend"), tmp_path / "static"
    collect(frontend, static_root)
    with override_settings(STATICFILES_DIRS=[frontend], STATIC_ROOT=static_root):
        before = Client().get("/model/group1-shard1of1.bin")
        unchanged_etag = Client().get("/vendor/lib.js")["ETag"]
    (frontend / "model/group1-shard1of1.bin").write_bytes(b"\x02" * 4096)  # a retrained model
    collect(frontend, static_root)
    with override_settings(STATICFILES_DIRS=[frontend], STATIC_ROOT=static_root):
        client = Client()  # a restarted server
        after = client.get("/model/group1-shard1of1.bin", HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200 and after["ETag"] != before["ETag"]
        assert b"".join(after.streaming_content) == b"\x02" * 4096
        # Content-hash ETags: files the redeploy did not change still answer 304.
        assert client.get("/vendor/lib.js", HTTP_IF_NONE_MATCH=unchanged_etag).status_code == 304


def test_development_server_serves_frontend_edits_at_once(tmp_path):
    frontend, static_root = write_frontend(tmp_path / "frontend"), tmp_path / "static"
    collect(frontend, static_root)
    (frontend / "js/app.js").write_text("export const edited = true;\n")
    with override_settings(STATICFILES_DIRS=[frontend], STATIC_ROOT=static_root,
                           WHITENOISE_AUTOREFRESH=True, WHITENOISE_USE_FINDERS=True):
        client = Client()
        response = client.get("/js/app.js")
        assert b"".join(response.streaming_content) == b"export const edited = true;\n"
        # Not the manifest's hash of the collected (older) copy: that would answer 304.
        manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
        assert manifest["js/app.js"].split(".")[-2] not in response["ETag"]


def test_source_map_comment_naming_a_missing_file_is_served_as_is(client):
    body = b"".join(client.get("/vendor/lib.js").streaming_content)
    assert body.endswith(b"//# sourceMappingURL=lib.js.map\n")


def test_frontend_tests_are_not_published(client):
    assert client.get("/tests/ui.test.js").status_code == 404


# ------------------------------------------------------------------ the API: good answers

def test_health_says_the_model_is_loaded(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model_loaded": True,
                               "model": METADATA["architecture"], "labels": LABELS}


def test_model_returns_metadata_json(client):
    response = client.get("/api/model")
    assert response.status_code == 200
    assert response.json() == METADATA


def test_predict_answers_in_the_design_shape(client):
    response = upload(client, png_bytes())
    assert response.status_code == 200, response.content
    answer = response.json()
    # A stripe pattern is unlike any MRI slice: the feature scope withholds its verdict (level, reasons).
    assert set(answer) - {"level", "reasons"} == {"label", "probabilities", "tumor_probability", "model", "ms",
                                                  "feature_scope"}
    probabilities = answer["probabilities"]
    assert list(probabilities) == LABELS
    assert abs(sum(probabilities.values()) - 1.0) < 1e-5
    assert answer["label"] == max(probabilities, key=probabilities.get)
    no_tumor = probabilities[METADATA["no_tumor_label"]]
    assert answer["tumor_probability"] == pytest.approx(1.0 - no_tumor)
    assert answer["model"] == METADATA["architecture"]
    assert answer["ms"] > 0


_keras_models: dict = {}


def keras_model(model_dir: Path = MODEL_DIR):
    """model_dir's model.h5 in Keras, loaded once per test session."""
    from mri.layers import load_model

    if model_dir not in _keras_models:
        _keras_models[model_dir] = load_model(str(model_dir / "model.h5"))
    return _keras_models[model_dir]


def keras_probabilities(data: bytes, model_dir: Path = MODEL_DIR) -> np.ndarray:
    """What Keras itself says for these bytes: mri.images' array through model.predict."""
    from mri.images import load_model_input

    shape = METADATA["input"]
    array = load_model_input(data, shape["height"], shape["width"], shape["channels"])
    return keras_model(model_dir).predict(array[None], verbose=0)[0]


def probabilities_of(response) -> np.ndarray:
    assert response.status_code == 200, response.content
    return np.array([response.json()["probabilities"][label] for label in LABELS])


def test_api_answer_equals_keras_on_real_images(client):
    root = real_data("brain-mri-4class")
    for label in LABELS:
        path = sorted((root / label).iterdir())[0]
        jpeg = path.read_bytes()
        as_png = png_bytes(Image.open(io.BytesIO(jpeg)))
        for data, name in ((jpeg, path.name), (as_png, path.stem + ".png")):
            response = upload(client, data, name)
            expected = keras_probabilities(data)
            assert np.max(np.abs(probabilities_of(response) - expected)) <= 1e-6, name
            assert response.json()["label"] == LABELS[int(np.argmax(expected))]


@pytest.fixture(scope="module")
def random_model_dir(tmp_path_factory):
    """The shipped metadata with a model of random weights, whose answers vary from image to
    image: an untrained placeholder may say 0.25 to everything, and agreeing on that proves
    nothing."""
    import keras

    from training.models import create_model

    keras.utils.set_random_seed(7)
    shape = METADATA["input"]
    model = create_model("lenet", (shape["height"], shape["width"], shape["channels"]), len(LABELS))
    path = tmp_path_factory.mktemp("random-model")
    model.save(path / "model.h5")
    (path / "metadata.json").write_text(json.dumps(dict(METADATA, architecture="lenet")))
    return path


def test_api_answer_equals_keras_on_the_same_array(client, random_model_dir, monkeypatch):
    monkeypatch.setattr(classifier_module, "_classifier", None)  # the next request loads this model
    images = [(png_bytes(), "gradient.png"), (dicom_bytes(), "slice.dcm"),
              (png_bytes(noise_image(300, seed=3, channels=3), "JPEG"), "noise.jpg"),
              (png_bytes(noise_image(90, seed=4)), "noise.png")]
    answers = []
    with override_settings(MRI_MODEL_DIR=random_model_dir):
        for data, name in images:
            got = probabilities_of(upload(client, data, name))
            expected = keras_probabilities(data, random_model_dir)
            assert np.max(np.abs(got - expected)) <= 1e-6, name
            answers.append(got)
    assert np.ptp(np.array(answers), axis=0).max() > 1e-3  # the answers differ: the test can fail


def test_dicom_pixel_data_is_classified(client):
    response = upload(client, dicom_bytes(), "slice.dcm")
    assert response.status_code == 200, response.content
    assert b"Doe" not in response.content and b"PID-93417" not in response.content


def test_png_named_jpg_is_read_by_content(client):
    assert upload(client, png_bytes(), "scan.jpg").status_code == 200


# ------------------------------------------------------------------ the API: bad input, one each

def test_no_file_is_400(client):
    assert_error(client.post(PREDICT, {"note": "hello"}), 400, "no image", "'image'")


def test_file_in_the_wrong_field_is_400(client):
    assert_error(upload(client, png_bytes(), field="file"), 400, "'image'", "'file'")


def test_text_instead_of_a_file_is_400(client):
    assert_error(client.post(PREDICT, {"image": "scan.png"}), 400, "as text")


def test_empty_file_is_400(client):
    assert_error(upload(client, b"", "scan.png"), 400, "empty")


def test_not_an_image_is_415(client):
    assert_error(upload(client, b"%PDF-1.7\n" + bytes(500), "report.pdf"), 415, "not a jpeg, png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image_is_400(client, fmt):
    data = png_bytes(fmt=fmt)
    message = assert_error(upload(client, data[: len(data) // 2], f"cut.{fmt.lower()}"), 400)
    assert "cut." in message and "complete" in message


def test_damaged_image_header_is_400(client):
    assert_error(upload(client, b"\x89PNG\r\n\x1a\n" + b"garbage" * 20), 400, "damaged")


def test_upload_over_the_10_mb_default_is_413(client):
    assert settings.MRI_MAX_UPLOAD_BYTES == 10 * 1024 * 1024
    too_big = png_bytes() + bytes(10 * 1024 * 1024)  # a body refused before it is parsed
    assert_error(upload(client, too_big), 413, "10 MB")


def test_file_just_over_a_configured_limit_is_413(client):
    data = png_bytes(noise_image(200, seed=0))
    with override_settings(MRI_MAX_UPLOAD_BYTES=len(data) - 1):
        assert_error(upload(client, data), 413, "larger than")
    with override_settings(MRI_MAX_UPLOAD_BYTES=len(data)):
        assert upload(client, data).status_code == 200


def test_decompression_bomb_is_413(client):
    # 100,000 x 100,000 pixels in a few hundred bytes: Pillow's own guard, before any decoding.
    assert_error(upload(client, png_header_claiming(100_000, 100_000)), 413, "too many pixels")


def test_image_over_the_server_pixel_limit_is_413(client):
    side = int(settings.MRI_MAX_IMAGE_PIXELS ** 0.5) + 1
    assert_error(upload(client, png_header_claiming(side, side)), 413, f"{side} x {side}")


def test_dicom_bomb_is_413(client):
    assert_error(upload(client, dicom_bytes(rows=30000, columns=30000, rle_bomb=True), "bomb.dcm"),
                 413, "30000 x 30000")


def test_dicom_bomb_is_refused_before_its_pixels_are_allocated():
    # mri.images is the decoder the server and training share; its own guard must hold too.
    import resource

    from mri.images import ImageDecodeError, decode_image

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageDecodeError, match="more than the"):
        decode_image(dicom_bytes(rows=30000, columns=30000, rle_bomb=True), "bomb.dcm")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200  # it promised 1.8 GB


def test_dicom_without_pixel_data_is_400(client):
    response = upload(client, dicom_bytes(pixels=False), "report.dcm")
    message = assert_error(response, 400, "without pixel data")
    assert "Doe" not in message and "PID-93417" not in message


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_predict_with_another_method_is_405(client, method):
    response = getattr(client, method)(PREDICT)
    assert_error(response, 405, "accepts POST")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("url", ["/api/model", "/api/health"])
def test_post_to_a_read_only_endpoint_is_405(client, url):
    response = client.post(url)
    assert_error(response, 405, "GET")
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"image": "aGVsbG8="}'),
    ("application/x-www-form-urlencoded", b"image=hello"),
    ("image/png", None),
])
def test_body_that_is_not_multipart_is_415(client, content_type, body):
    response = client.generic("POST", PREDICT, body if body is not None else png_bytes(),
                              content_type=content_type)
    assert_error(response, 415, "multipart/form-data")


def test_missing_content_length_is_411(client):
    response = client.generic("POST", PREDICT, b"--x--\r\n",
                              content_type="multipart/form-data; boundary=x",
                              CONTENT_LENGTH="")  # as a chunked upload arrives
    assert_error(response, 411, "content-length")


def test_malformed_multipart_body_is_400(client):
    response = client.generic("POST", PREDICT, b"--nope\r\nthis is not multipart",
                              content_type="multipart/form-data")  # no boundary
    assert_error(response, 400, "multipart")


def test_two_files_are_400(client):
    response = client.post(PREDICT, {"image": SimpleUploadedFile("a.png", png_bytes()),
                                     "other": SimpleUploadedFile("b.png", png_bytes())})
    assert_error(response, 400, "one image")


def test_cross_site_request_is_403(client):
    assert_error(upload(client, png_bytes(), HTTP_SEC_FETCH_SITE="cross-site"), 403, "other sites")
    assert upload(client, png_bytes(), HTTP_SEC_FETCH_SITE="same-origin").status_code == 200


def test_request_for_another_host_is_400(client):
    response = client.get("/", HTTP_HOST="attacker.example")
    assert_error(response, 400, "host")
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value, name
    assert_error(upload(client, png_bytes(), HTTP_HOST="attacker.example"), 400, "host")


def test_unknown_api_path_is_404(client):
    assert_error(client.get("/api/predict/"), 404, "/api/predict")


def test_missing_model_is_503_and_the_page_still_served(client, tmp_path, monkeypatch):
    monkeypatch.setattr(classifier_module, "_classifier", None)
    with override_settings(MRI_MODEL_DIR=tmp_path):
        assert_error(upload(client, png_bytes()), 503, "not available")
        assert_error(client.get("/api/model"), 503, "not available")
        health = client.get("/api/health")
        assert health.status_code == 503 and health.json()["model_loaded"] is False
        assert client.get("/").status_code == 200


# ------------------------------------------------------------------ nothing kept, nothing leaked

class FileWrites:
    """Records every file opened for writing in this process (a Python audit hook)."""

    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT
    _active: list | None = None
    _installed = False

    def __enter__(self):
        if not FileWrites._installed:
            sys.addaudithook(FileWrites._hook)  # audit hooks cannot be removed; it idles when off
            FileWrites._installed = True
        FileWrites._active = self.paths = []
        return self

    def __exit__(self, *exc):
        FileWrites._active = None

    @staticmethod
    def _hook(event, args):
        if event == "open" and FileWrites._active is not None:
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & FileWrites.WRITE_FLAGS)
            if writing and "__pycache__" not in str(path):
                FileWrites._active.append(path)


def test_upload_is_never_written_to_disk(client, tmp_path):
    # 3 MB: above the 2.5 MB beyond which Django's default handlers spool an upload to a file.
    data = png_bytes(noise_image(1100, seed=1, channels=3))
    assert 2.5e6 < len(data) < settings.MRI_MAX_UPLOAD_BYTES
    upload(client, png_bytes())  # load the model and everything it imports first
    with override_settings(FILE_UPLOAD_TEMP_DIR=str(tmp_path)):
        # The detector works: Django's default handlers do write this upload to a file.
        with override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=2_621_440, FILE_UPLOAD_HANDLERS=[
                "django.core.files.uploadhandler.MemoryFileUploadHandler",
                "django.core.files.uploadhandler.TemporaryFileUploadHandler"]):
            with FileWrites() as writes:
                upload(client, data)
            assert writes.paths
        with FileWrites() as writes:
            response = upload(client, data)
        assert response.status_code == 200, response.content
        assert writes.paths == []
        assert list(tmp_path.iterdir()) == []


def test_no_file_name_or_patient_data_is_logged(client, caplog):
    caplog.set_level(logging.DEBUG)
    for data, name in ((dicom_bytes(), "Doe^Jane.dcm"), (dicom_bytes(pixels=False), "Doe^Jane.dcm"),
                       (b"Doe^Jane PID-93417", "Doe^Jane.txt")):
        upload(client, data, name)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "predict 200 DICOM" in logged  # the outcome is logged...
    assert "Doe" not in logged and "PID-93417" not in logged  # ...but not who it was


def test_server_keeps_answering_after_every_bad_input(client):
    good = upload(client, png_bytes()).json()
    noisy_png = png_bytes(noise_image(64, seed=2))
    bad_inputs = [
        lambda: client.post(PREDICT, {}),
        lambda: upload(client, b""),
        lambda: upload(client, b"not an image at all"),
        lambda: upload(client, noisy_png[: len(noisy_png) // 2]),
        lambda: upload(client, png_header_claiming(100_000, 100_000)),
        lambda: upload(client, dicom_bytes(rows=30000, columns=30000, rle_bomb=True)),
        lambda: upload(client, dicom_bytes(pixels=False)),
        lambda: upload(client, bytes(11 * 1024 * 1024)),
        lambda: client.get(PREDICT),
        lambda: client.generic("POST", PREDICT, b"{}", content_type="application/json"),
        lambda: client.generic("POST", PREDICT, b"x", content_type="multipart/form-data"),
    ]
    for send in bad_inputs * 2:
        assert 400 <= send().status_code < 500
    again = upload(client, png_bytes()).json()
    assert again["probabilities"] == good["probabilities"]
    assert client.get("/api/health").status_code == 200


def test_a_dicom_outside_the_models_scope_gets_no_verdict_from_the_api(client):
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(dicom_bytes()))
    ds.SeriesDescription, ds.ImageOrientationPatient = "ep2d_diff_b1000_TRACE", [0, 1, 0, 0, 0, -1]
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    body = upload(client, buf.getvalue(), "dwi.dcm").json()
    assert body["level"] == "not-mri"
    assert body["scope"]["codes"] == ["diffusion", "plane"] and body["scope"]["plane"] == "sagittal"
    assert body["reasons"][0].startswith("The header says this is a diffusion image")
    assert set(body["probabilities"]) == {"glioma", "meningioma", "notumor", "pituitary"}  # still there
    axial = upload(client, dicom_bytes(), "slice.dcm").json()
    # The header is in scope (the synthetic pattern's features may still be withheld: not the header's doing).
    assert axial["scope"]["withheld"] is False
    assert not any(r.startswith("The header") for r in axial.get("reasons", []))
