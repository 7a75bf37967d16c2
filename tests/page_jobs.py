"""Run the page's JavaScript modules from pytest (frontend/tests/helpers/parity.mjs), so that parity
tests compare the Python reference with the very files the browser runs."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
HELPER = REPO / "frontend" / "tests" / "helpers" / "parity.mjs"


def require_node() -> None:
    """Skip, saying why, where Node or the npm packages are missing (`make test` installs both)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed; the page's parity tests need Node 20+")
    if not (REPO / "node_modules" / "@tensorflow" / "tfjs-core").is_dir():
        pytest.skip("node_modules/ is missing; run `make install` (npm ci) first")


def write_floats(path: Path, array: np.ndarray) -> str:
    np.ascontiguousarray(array, dtype="<f4").tofile(path)
    return str(path)


def read_floats(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<f4")


def run_page_job(tmp_path: Path, **job) -> dict:
    """Run one job of parity.mjs; returns its JSON answer. Fails with Node's own message."""
    require_node()
    job_file = tmp_path / f"job-{job['task']}.json"
    job_file.write_text(json.dumps(job))
    done = subprocess.run(["node", str(HELPER), str(job_file)], cwd=REPO, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"parity.mjs {job['task']} failed: {done.stderr.strip()}")
    return json.loads(done.stdout or "{}")
