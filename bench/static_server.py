"""A static server for frontend/ with the headers the Django site sends: the page's benchmarks and
checks run under the same Content-Security-Policy and cross-origin isolation as production.

    python -m bench.static_server [--port 8123] [--model DIR]

--model serves another model folder at /model/ (a converted model in a scratch folder, say),
without touching frontend/model/. Nothing here is needed to use the page: any static host works.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import pathlib
import threading

ROOT = pathlib.Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
# collectstatic's copy of frontend/ (`make static`), with whitenoise's compressed files beside each.
STATIC_ROOT = ROOT / "site" / "staticfiles"

# The site's policy (issue "Django"): the page must work under it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
        "img-src 'self' blob: data:; worker-src 'self' blob:; style-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "X-Content-Type-Options": "nosniff",
}


class FrontendHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".webmanifest": "application/manifest+json",
        ".svg": "image/svg+xml",
    }

    def __init__(self, *args, root: pathlib.Path = FRONTEND, model_dir: pathlib.Path | None = None,
                 headers: bool = True, **kwargs):
        self.model_dir = model_dir
        self.send_security_headers = headers
        super().__init__(*args, directory=str(root), **kwargs)

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if self.model_dir is not None and clean.startswith("/model/"):
            return str(self.model_dir / clean[len("/model/"):])
        return super().translate_path(path)

    def copyfile(self, source, outputfile) -> None:
        # Count what is sent, for the page's transfer budget (bench/page_bench.py).
        start = source.tell()
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            return  # the browser moved on (a closed page); nothing to report
        with self.server.count_lock:
            self.server.sent.append((self.path, source.tell() - start))

    def end_headers(self) -> None:
        if self.send_security_headers:
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
        # Revalidate every time, as a development server should.
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


def make_server(port: int = 0, model_dir: pathlib.Path | None = None, headers: bool = True,
                root: pathlib.Path = FRONTEND) -> FrontendServer:
    """A server on 127.0.0.1 (port 0: any free port) for `root` (default frontend/); call
    serve_in_thread or serve_forever."""
    handler = functools.partial(FrontendHandler, root=root, model_dir=model_dir, headers=headers)
    return FrontendServer(("127.0.0.1", port), handler, model_dir)


class FrontendServer(http.server.ThreadingHTTPServer):
    """Records each response's body size, for the page's transfer budget."""

    def __init__(self, address, handler, model_dir: pathlib.Path | None = None):
        super().__init__(address, handler)
        self.sent: list[tuple[str, int]] = []  # (request path, body bytes) of each response, in order
        self.model_dir = model_dir
        self.count_lock = threading.Lock()

    @property
    def bytes_sent(self) -> int:
        """Response bodies, all requests so far."""
        with self.count_lock:
            return sum(size for _, size in self.sent)


def gzip_bytes(server: FrontendServer, first: int = 0,
               static_root: pathlib.Path = STATIC_ROOT) -> int | None:
    """What the Django site would have sent for the server's responses from the `first` on:
    whitenoise sends the .gz copy collectstatic wrote beside a file (every browser accepts gzip;
    brotli is smaller still, but browsers ask for it over HTTPS only), else the file itself; a
    --model folder's files, and any file whose collected copy is stale, count as sent. None
    without `make static`'s copy."""
    if not static_root.is_dir():
        return None
    total = 0
    for path, raw in server.sent[first:]:
        name = path.split("?", 1)[0].split("#", 1)[0].lstrip("/") or "index.html"
        collected, copy = static_root / name, static_root / (name + ".gz")
        # Only where the collected copy is the file just sent (a stale `make static` is not).
        same = collected.is_file() and collected.stat().st_size == raw and copy.is_file()
        own_model = server.model_dir is not None and name.startswith("model/")
        total += copy.stat().st_size if same and not own_model else raw
    return total


def serve_in_thread(server: http.server.ThreadingHTTPServer) -> str:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8123, help="port on 127.0.0.1 (default 8123)")
    parser.add_argument("--model", type=pathlib.Path, help="serve this folder at /model/ instead of frontend/model/")
    parser.add_argument("--no-headers", action="store_true", help="omit CSP/COOP/COEP (a plain static host)")
    args = parser.parse_args()
    server = make_server(args.port, args.model, headers=not args.no_headers)
    print(f"Serving frontend/ at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    server.serve_forever()


if __name__ == "__main__":
    main()
