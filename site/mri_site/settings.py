"""Settings, read from environment variables with safe defaults.

DEBUG is off unless DJANGO_DEBUG asks for it, and then DJANGO_SECRET_KEY is required (`make serve`
generates one per run: the site signs nothing that must outlive a restart). There is no database.
Every variable is listed in docs/api.md's "Settings" table; an unparsable value fails at
start-up with the variable's name, never silently.
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mri_site import REPO_ROOT
from mri_site.caching import set_cache_control

SITE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a yes/no value; use 1 or 0.")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below its minimum, {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).resolve() if value else default


DEBUG = env_bool("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string, e.g. "
            "DJANGO_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=1 for local development (`make serve` sets one for you).")
    SECRET_KEY = "insecure-development-only-key"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

# --- The application: no database, no sessions, no templates. ---------------------------------
INSTALLED_APPS = [
    # Let whitenoise, not runserver's own static handler, serve files in development: with
    # STATIC_URL "/" that handler would swallow /api/ too.
    "whitenoise.runserver_nostatic",
    "mri_site.apps.FrontendStaticFilesConfig",
]
MIDDLEWARE = [
    # The header middleware sits outside whitenoise, so the page's files get every header too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mri_site.middleware.CrossOriginIsolationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Inside the header middleware (its 400 gets every header), outside whitenoise (which
    # answers before any view, so before anything else would check the Host header).
    "mri_site.middleware.AllowedHostsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The API is csrf_exempt (mri_site/api.py says why); any view added later is protected.
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "mri_site.urls"
WSGI_APPLICATION = "mri_site.wsgi.application"
DATABASES = {}
USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security headers (CSP, COEP and CORP: mri_site/middleware.py). ----------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind a TLS-terminating proxy in production: see docs/api.md, "Production and scaling".
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"  # for browsers older than CSP's frame-ancestors
CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT

# --- The page: frontend/ served at "/" by whitenoise from collectstatic's copy. ------------------
FRONTEND_DIR = env_path("MRI_FRONTEND_DIR", REPO_ROOT / "frontend")
STATIC_URL = "/"
STATICFILES_DIRS = [FRONTEND_DIR]
STATIC_ROOT = env_path("MRI_STATIC_ROOT", SITE_DIR / "staticfiles")
MEDIA_URL = "/media/"  # unused (no uploads are kept), but it must differ from STATIC_URL
STORAGES = {
    "staticfiles": {"BACKEND": "mri_site.storage.FrontendStaticFilesStorage"},
}
WHITENOISE_INDEX_FILE = True  # "/" serves index.html
# Same-origin files only: CORP same-origin on everything, so no wildcard CORS on static files.
WHITENOISE_ALLOW_ALL_ORIGINS = False
WHITENOISE_MIMETYPES = {
    ".wasm": "application/wasm",  # streaming compilation needs exactly this type
    ".bin": "application/octet-stream",  # TF.js weight shards
    ".json": "application/json",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".map": "application/json",
    ".h5": "application/x-hdf5",
    ".webmanifest": "application/manifest+json",
}
WHITENOISE_ADD_HEADERS_FUNCTION = set_cache_control
# Seconds a browser may reuse vendor/ (npm libraries, replaced only by a dependency upgrade)
# without asking; everything else is revalidated on each use (see mri_site/caching.py).
MRI_VENDOR_MAX_AGE = env_int("MRI_VENDOR_MAX_AGE", 24 * 3600)

# --- The Keras fallback API. -------------------------------------------------------------------
MRI_MODEL_DIR = env_path("MRI_MODEL_DIR", FRONTEND_DIR / "model")
MRI_MAX_UPLOAD_BYTES = env_int("MRI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1)
# Decoded pixels per image (all frames of a DICOM). A 4096 x 4096 image already costs ~200 MB of
# float32 while it is converted; MRI slices are 256-1024 px. Capped by mri.images.MAX_PIXELS.
MRI_MAX_IMAGE_PIXELS = env_int("MRI_MAX_IMAGE_PIXELS", 4096 * 4096, minimum=1)
# Most voxels in one NIfTI volume (256 x 256 x 256: about 130 MB as float64 while it is scaled).
MRI_MAX_VOLUME_VOXELS = env_int("MRI_MAX_VOLUME_VOXELS", 256 * 256 * 256, minimum=1)
# TensorFlow threads per process for one prediction. Requests run in parallel on gunicorn's
# threads and workers; one op thread each avoids oversubscribing the cores (bench/api_bench.py
# --tf-threads measures it; docs/log.md).
MRI_TF_THREADS = env_int("MRI_TF_THREADS", 1)
# A multipart body holds the file plus its boundaries and part headers.
MULTIPART_OVERHEAD_BYTES = 64 * 1024

# Uploads stay in memory, never in a temporary file (mri_site/uploads.py); the view refuses a
# body larger than MRI_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES before reading it.
FILE_UPLOAD_HANDLERS = ["mri_site.uploads.MemoryOnlyUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = MRI_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = MULTIPART_OVERHEAD_BYTES  # the non-file fields
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
DATA_UPLOAD_MAX_NUMBER_FILES = 1

# --- Logging: requests and outcomes, never image content, file names or DICOM fields. ----------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "mri_site": {"level": os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper()},
    },
}
