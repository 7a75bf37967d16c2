"""How long a browser may reuse each file of the page without asking the server again.

whitenoise gives every file an ETag and a Last-Modified date, so "no-cache" (store, but revalidate
before each use) costs a 304 round trip, not a download. The page must work from any static host,
so it names its files by plain relative names; a plain name that keeps its URL when its content
changes must be revalidated, or a browser keeps running an old model or old code:

| URL                                        | Cache-Control                        |
| ------------------------------------------ | ------------------------------------ |
| a content-hashed copy (`app.3f2a9c1d.css`) | public, max-age=10 years, immutable  |
| `vendor/` libraries (`tfjs.js`, wasm)      | public, max-age=MRI_VENDOR_MAX_AGE   |
| everything else: `/` (index.html), sw.js,  | no-cache                             |
| js/, css/, vendor/versions.json, model/    |                                      |

The model files (model.json, its weight shards, metadata.json, model.h5) fall in the last row:
model.json names its shards by plain names ("group1-shard1of1.bin"), so a replaced model keeps its
URLs. A service worker script must never be served stale (browsers cap its cache at 24 h anyway).
The vendored libraries change only with a dependency upgrade, so they may be reused for a while;
versions.json, which the service worker reads to notice an upgrade, may not.

Validators: a plain name's ETag is its content hash from collectstatic's manifest (the hash in
its hashed copy's name), weak because whitenoise may send it gzip- or brotli-encoded. Unlike
whitenoise's own (modification time and size), it survives `make static` and restarts and is the
same on every server, so an unchanged 2 MB wasm file is a 304 after a redeploy, and a changed file
is never mistaken for the old one.

This module has no Django imports at module level: settings.py imports it.
"""
from __future__ import annotations

import os

REVALIDATE = "no-cache"


def cache_control_for(url: str, hashed: bool, vendor_max_age: int) -> str | None:
    """The Cache-Control value for a URL of the page; None keeps whitenoise's own (immutable)."""
    if hashed:
        return None
    if url.startswith("/vendor/") and not url.endswith(".json"):
        return f"public, max-age={vendor_max_age}"
    return REVALIDATE


def content_etag(hashed_name: str | None) -> str | None:
    """'vendor/tfjs.1a2b3c4d5e6f.js' -> 'W/"1a2b3c4d5e6f"' (None without a manifest entry)."""
    if not hashed_name:
        return None
    parts = hashed_name.rsplit("/", 1)[-1].split(".")
    return f'W/"{parts[-2]}"' if len(parts) >= 3 else None


def set_cache_control(headers, path: str, url: str) -> None:
    """WHITENOISE_ADD_HEADERS_FUNCTION: runs once per file when whitenoise starts, after its own
    headers (which mark content-hashed names immutable)."""
    from django.conf import settings
    from django.contrib.staticfiles.storage import staticfiles_storage

    hashed = "immutable" in headers.get("Cache-Control", "")
    value = cache_control_for(url, hashed, settings.MRI_VENDOR_MAX_AGE)
    if value is not None:
        headers["Cache-Control"] = value
    if not path.startswith(os.path.join(settings.STATIC_ROOT, "")):
        return  # served from frontend/ itself (development): the manifest may describe older files
    name = url[len(settings.STATIC_URL):]
    if name == "" or name.endswith("/"):
        name += "index.html"  # whitenoise serves index.html at its folder's URL
    etag = content_etag(getattr(staticfiles_storage, "hashed_files", {}).get(name))
    if etag is not None:
        headers["ETag"] = etag
