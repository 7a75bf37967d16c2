"""The benchmarks' own arithmetic (bench/): what the Django site would send for a first visit."""
import gzip

from bench.static_server import gzip_bytes, make_server


def test_gzip_bytes_counts_whitenoise_copies_and_nothing_stale(tmp_path):
    static = tmp_path / "staticfiles"
    (static / "vendor").mkdir(parents=True)
    (static / "model").mkdir()
    app = b"export const x = 1;\n" * 500
    (static / "vendor" / "app.js").write_bytes(app)
    (static / "vendor" / "app.js.gz").write_bytes(gzip.compress(app))
    (static / "model" / "w.bin").write_bytes(b"\0" * 100)
    (static / "model" / "w.bin.gz").write_bytes(gzip.compress(b"\0" * 100))
    (static / "index.html").write_bytes(b"<p>old</p>")
    (static / "index.html.gz").write_bytes(gzip.compress(b"<p>old</p>"))
    zipped = (static / "vendor" / "app.js.gz").stat().st_size

    server = make_server(0)
    try:
        server.sent = [("/vendor/app.js?v=3", len(app)), ("/", 4000), ("/model/w.bin", 100)]
        # index.html was sent at 4000 bytes: its collected copy (10 bytes) is stale, so it counts as sent.
        model_gz = (static / "model" / "w.bin.gz").stat().st_size
        assert gzip_bytes(server, 0, static) == zipped + 4000 + model_gz
        assert gzip_bytes(server, 1, static) == 4000 + model_gz
        server.model_dir = tmp_path  # a --model folder: its files are not collectstatic's
        assert gzip_bytes(server, 0, static) == zipped + 4000 + 100
        assert gzip_bytes(server, 0, tmp_path / "absent") is None
    finally:
        server.server_close()
