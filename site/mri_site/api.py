"""The Keras fallback API: POST /api/predict, GET /api/model, GET /api/health.

Each view is a ladder of early returns; every refusal is a 4xx JSON `{"error": "<sentence>"}`:

| status | when                                                                                 |
| ------ | ------------------------------------------------------------------------------------ |
| 400    | no file in the field `image`, an empty file, a damaged or cut-short image or NIfTI    |
|        | volume, a 2-D or empty volume, a DICOM file without pixel data, a malformed          |
|        | multipart body, more than one file                                                   |
| 403    | a browser says the request comes from another site (Sec-Fetch-Site)                  |
| 405    | any method but POST (GET/HEAD on /api/model and /api/health)                         |
| 411    | no Content-Length (a chunked upload)                                                 |
| 413    | a body over MRI_MAX_UPLOAD_BYTES, more pixels than MRI_MAX_IMAGE_PIXELS, a volume of  |
|        | more voxels than MRI_MAX_VOLUME_VOXELS (a gzip bomb stops inflating there)           |
| 415    | a body that is not multipart/form-data, or a file that is not JPEG, PNG, GIF, BMP,    |
|        | WebP, DICOM or NIfTI (.nii, .nii.gz) by its content                                  |
| 503    | the model files are missing or damaged (a server problem, said so)                   |

CSRF: the API changes nothing, reads no cookie and answers only same-origin readers (no CORS
headers, and Cross-Origin-Resource-Policy same-origin), so a forged cross-site POST gains an
attacker nothing; the views are csrf_exempt so that the page, curl and scripts can call them
without a token. Browsers label cross-site requests with Sec-Fetch-Site, and those are refused so
that other sites cannot spend this server's CPU through their visitors.

Logs say how a request ended, its format, size and time; never the file's name, its content or
any DICOM field (a file name can hold a patient's name).
"""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from mri.images import ImageDecodeError
from mri.volumes import VolumeError, VolumeTooLarge, looks_like_nifti
from mri_site.classifier import ModelUnavailable, get_classifier, model_is_loaded
from mri_site.uploads import UploadRejected, UploadTooLarge, check_pixel_count, read_header

log = logging.getLogger(__name__)

FIELD = "image"
MAX_NAME_CHARS = 80


def error(status: int, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def method_not_allowed(request, allowed: tuple[str, ...]) -> JsonResponse:
    return error(405, f"{request.path} accepts {' or '.join(allowed)}, not {request.method}.",
                 Allow=", ".join(allowed))


def cross_site(request) -> bool:
    return request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site")


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def content_length(request) -> int | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return length if length >= 0 else None


@csrf_exempt
def predict(request):
    started = time.perf_counter()
    response, image_format, size = _predict(request)
    log.info("predict %s %s %d bytes %.1f ms", response.status_code, image_format or "-", size,
             (time.perf_counter() - started) * 1000.0)
    return response


def _predict(request) -> tuple[HttpResponse, str | None, int]:
    """The ladder; returns the response, the image format (for the log) and the upload's size."""
    if request.method != "POST":
        return method_not_allowed(request, ("POST",)), None, 0
    if cross_site(request):
        return error(403, "This API answers its own page only, not other sites."), None, 0
    if request.content_type != "multipart/form-data":
        sent = request.content_type or "without a content type"
        return error(415, f"Send the image as multipart/form-data with the file in the field "
                          f"'{FIELD}', as a form upload or curl -F {FIELD}=@scan.png does; this "
                          f"request was {sent}."), None, 0
    max_bytes = settings.MRI_MAX_UPLOAD_BYTES

    def too_large() -> JsonResponse:
        return error(413, f"The upload is larger than the {megabytes(max_bytes)} the server "
                          "accepts; send a single slice, or a smaller export of it.")

    length = content_length(request)
    if length is None:
        return error(411, "The request has no Content-Length; send the file in one piece "
                          "(not chunked)."), None, 0
    if length > max_bytes + settings.MULTIPART_OVERHEAD_BYTES:
        return too_large(), None, length

    try:
        upload = request.FILES.get(FIELD)
        other_files = [field for field in request.FILES if field != FIELD]
        text_fields = list(request.POST)
    except UploadTooLarge:
        return too_large(), None, length
    except RequestDataTooBig:
        return error(413, f"The form's text fields are too large; send the image as a file in the "
                          f"field '{FIELD}'."), None, length
    except TooManyFilesSent:
        return error(400, f"Send one image per request, in the field '{FIELD}'."), None, length
    except (MultiPartParserError, TooManyFieldsSent):
        return error(400, "The multipart body could not be read; send the file with a standard "
                          "form upload (curl -F, fetch with FormData)."), None, length

    if upload is None:
        if FIELD in text_fields:
            hint = f"the field '{FIELD}' arrived as text, not as a file (curl -F {FIELD}=@scan.png)"
        elif other_files:
            hint = f"a file came in the field '{other_files[0][:MAX_NAME_CHARS]}' instead"
        else:
            hint = "the request holds no file"
        return error(400, f"No image in the form field '{FIELD}': {hint}."), None, length
    name = (upload.name or "The upload")[:MAX_NAME_CHARS]
    if upload.size > max_bytes:
        return too_large(), None, upload.size

    data = upload.read()
    if looks_like_nifti(data):
        return _predict_volume(data, name), "NIfTI", len(data)
    try:
        header = read_header(data, name)
        check_pixel_count(header, name, settings.MRI_MAX_IMAGE_PIXELS)
    except UploadRejected as rejected:
        return error(rejected.status, rejected.message), None, len(data)
    try:
        classifier = get_classifier()
    except ModelUnavailable:
        log.exception("the model could not be loaded")
        return error(503, "The server's model is not available right now; the page's in-browser "
                          "answer does not depend on it."), header.format, len(data)
    try:
        answer = classifier.classify(data, name)
    except ImageDecodeError as err:
        return error(400, str(err)), header.format, len(data)
    return JsonResponse(answer), header.format, len(data)


def _predict_volume(data: bytes, name: str) -> JsonResponse:
    try:
        classifier = get_classifier()
    except ModelUnavailable:
        log.exception("the model could not be loaded")
        return error(503, "The server's model is not available right now; the page's in-browser "
                          "answer does not depend on it.")
    try:
        return JsonResponse(classifier.classify_volume(data, name, settings.MRI_MAX_VOLUME_VOXELS))
    except VolumeTooLarge as err:
        return error(413, str(err))
    except VolumeError as err:
        return error(400, str(err))


def model_metadata(request):
    """metadata.json of the model that answers /api/predict (as read when it was loaded, so the
    two never disagree): labels in output order, input size, metrics."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request, ("GET", "HEAD"))
    try:
        classifier = get_classifier()
    except ModelUnavailable:
        log.exception("the model could not be loaded")
        return error(503, "The server's model is not available right now.")
    response = JsonResponse(classifier.metadata.document)
    response["Cache-Control"] = "no-cache"
    return response


def health(request):
    """200 with the model's name once it is loaded (loading it if needed); 503 if it cannot be."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request, ("GET", "HEAD"))
    try:
        classifier = get_classifier()
    except ModelUnavailable as err:
        log.error("health: %s", err)
        return JsonResponse({"status": "unavailable", "model_loaded": False,
                             "error": "The model could not be loaded; see the server log."},
                            status=503)
    response = JsonResponse({"status": "ok", "model_loaded": model_is_loaded(),
                             "model": classifier.metadata.architecture,
                             "labels": list(classifier.metadata.labels)})
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request, exception=None):
    return error(400, "The request could not be understood (for example, its Host header names "
                      "a site this server does not serve).")


def not_found(request, exception=None):
    where = f"Nothing at {request.path[:200]}"
    if request.path.startswith("/api/"):
        return error(404, f"{where}; the API has /api/predict, /api/model and /api/health.")
    return error(404, f"{where}.")


def server_error(request):
    return error(500, "The server failed on this request; it has been logged. Please try again.")
