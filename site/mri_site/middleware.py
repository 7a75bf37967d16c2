"""Headers that make the page cross-origin isolated and lock it to its own origin.

Django's SecurityMiddleware adds X-Content-Type-Options, Referrer-Policy and
Cross-Origin-Opener-Policy (settings.py); this adds what Django 5.2 has no setting for. It sits
outermost in MIDDLEWARE, so every response gets them: the page and its files served by whitenoise,
the API's JSON and Django's own error pages.
"""

# Only the page's own origin: no inline script (the page has none: scripts/vendor.mjs resolves
# imports without an import map), 'wasm-unsafe-eval' for TF.js's WebAssembly backend, blob: for
# previews and worker URLs that TF.js and the page create, data: for small inline images.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "connect-src 'self'",
    "img-src 'self' blob: data:",
    "worker-src 'self' blob:",
    "style-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
])

CROSS_ORIGIN_ISOLATION_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # With COOP same-origin (SecurityMiddleware), the page is cross-origin isolated, so
    # SharedArrayBuffer, and with it the threaded wasm backend, is available.
    "Cross-Origin-Embedder-Policy": "require-corp",
    # No other site may embed these responses (an image, a script, the API's JSON).
    "Cross-Origin-Resource-Policy": "same-origin",
}


class CrossOriginIsolationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        for name, value in CROSS_ORIGIN_ISOLATION_HEADERS.items():
            response[name] = value
        return response


class AllowedHostsMiddleware:
    """Refuse a Host header that is not in ALLOWED_HOSTS, for every request.

    Django checks the Host header only when something asks for it (CommonMiddleware, CSRF,
    absolute URLs); nothing in this site does, and whitenoise answers before any view. So ask
    here, in front of whitenoise: DisallowedHost becomes a 400.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.get_host()
        return self.get_response(request)
