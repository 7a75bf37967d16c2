"""Fixtures of the end-to-end suite (what they hold: harness.py). One server and one browser per
session; a fresh browser context, with empty caches and no service worker, per test."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import real_data
from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, FIGURES, KerasReference, open_app, real_samples_from, start_site


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not at {CHROMIUM}: run `make chromium` (as root) or "
                    "`sudo apt-get install chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Python playwright is not installed: run `make install`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def site(browser):
    """gunicorn serving the Django site as `make serve` does (after the browser: no server is
    started where no browser can test it)."""
    server = start_site()
    yield server
    server.stop()


@pytest.fixture
def app(browser, site):
    """The page, loaded and ready, in a fresh context."""
    app = open_app(browser, site)
    yield app
    app.context.close()


@pytest.fixture(scope="session")
def real_samples():
    return real_samples_from(real_data("brain-mri-4class"))


@pytest.fixture(scope="session")
def keras():
    return KerasReference()


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("end-to-end figures (tests/e2e)")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
