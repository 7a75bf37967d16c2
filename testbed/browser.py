"""Debian's Chromium, headless, the one browser bench/ and tests/e2e drive (never a downloaded one)."""
from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# No GPU, no sandbox (containers), and none of Chromium's own background traffic: every request
# a run sees is the page's.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_missing() -> str | None:
    """Why Chromium cannot be started here (and how to fix it), or None when it can."""
    if Path(CHROMIUM).exists():
        return None
    return f"Debian's chromium is not at {CHROMIUM}: run `make chromium` (as root) or `sudo apt-get install chromium`"


def launch(playwright):
    """Chromium from a Playwright instance, sync or async (await the result of the async one)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
