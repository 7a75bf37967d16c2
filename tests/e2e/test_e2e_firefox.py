"""Smoke test in another engine: Debian's Firefox ESR, driven over WebDriver BiDi by puppeteer-core
(tests/e2e/firefox_smoke.mjs; no browser download), against the same real server. The page loads,
gets ready, classifies real slices with Chromium's answers, and requests nothing while classifying.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.harness import FIGURES, JPEG_TOLERANCE, PNG_TOLERANCE, max_difference, some_slices

FIREFOX = "/usr/bin/firefox-esr"
DRIVER = Path(__file__).with_name("firefox_smoke.mjs")
FIREFOX_TIMEOUT_S = 240  # start-up of a fresh profile and the model's first load on a busy CPU


def test_firefox_esr_classifies_as_chromium_does_and_sends_nothing(app, site):
    if not Path(FIREFOX).exists():
        pytest.skip(f"Debian's firefox-esr is not at {FIREFOX}: run `make firefox` (as root) or "
                    "`sudo apt-get install firefox-esr`")
    if not (REPO / "node_modules" / "puppeteer-core").is_dir() or not shutil.which("node"):
        pytest.skip("puppeteer-core is not installed: run `make install`")
    samples = some_slices()
    mark = site.mark()
    done = subprocess.run(
        ["node", str(DRIVER)], cwd=REPO, capture_output=True, text=True, timeout=FIREFOX_TIMEOUT_S,
        input=json.dumps({"url": site.url, "firefox": FIREFOX,
                          "images": [{"name": s.name, "b64": base64.b64encode(s.data).decode()} for s in samples]}))
    assert done.returncode == 0, done.stderr[-3000:]
    firefox = json.loads(done.stdout)
    served = site.requests_since(mark)
    assert firefox["info"]["version"] == app.info["version"], firefox["info"]
    assert firefox["requestsWhileClassifying"] == [], firefox["requestsWhileClassifying"]
    assert served and all(line.startswith("GET ") for line in served), served  # loading only: no upload
    differences = []
    for sample, answer in zip(samples, firefox["results"]):
        chromium = app.classify(sample.name, sample.data)
        tolerance = PNG_TOLERANCE if sample.kind == "PNG" else JPEG_TOLERANCE
        difference = max_difference(answer["probabilities"], chromium["probabilities"])
        differences.append(difference)
        assert difference <= tolerance, (sample.name, answer, chromium["probabilities"])
        assert answer["level"] == chromium["level"], (sample.name, answer, chromium)
    FIGURES["Firefox ESR vs Chromium"] = (f"ready in {firefox['readyMs'] / 1000:.1f} s on "
                                          f"{firefox['info']['backend']}, "
                                          f"max |dp| {max(differences):.1e} over {len(differences)} slices")
