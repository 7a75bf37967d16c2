"""What the benchmarks (bench/) and the end-to-end tests (tests/e2e) both start: the site under
gunicorn (server.py) and Debian's headless Chromium (browser.py)."""
