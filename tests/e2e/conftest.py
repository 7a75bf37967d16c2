"""Fixtures of the end-to-end suite (what they hold: harness.py). One server and one browser per
session; a fresh browser context, with empty caches and no service worker, per test."""
from __future__ import annotations

import pytest

from testbed.browser import chromium_missing, launch
from tests.conftest import real_data
from tests.e2e.harness import FIGURES, KerasReference, open_app, real_samples_from, start_site


@pytest.fixture(scope="session")
def browser():
    if missing := chromium_missing():
        pytest.skip(missing)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Python playwright is not installed: run `make install`")
    with sync_playwright() as playwright:
        chromium = launch(playwright)
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
