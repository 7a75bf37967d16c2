"""Shared test fixtures: where the real MRI data is, and small generated image folders."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# The real data sits beside the repository (../shared/data); MRI_DATA_DIR overrides it.
DATA_DIR = Path(os.environ.get("MRI_DATA_DIR", REPO.parent / "shared" / "data"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def real_data(name: str = "") -> Path:
    """Path of a real data set, or skip the test with the reason."""
    path = DATA_DIR / name
    if not path.is_dir():
        pytest.skip(f"real MRI data not found at {path} (set MRI_DATA_DIR to run this test)")
    return path


def blob_image(rng: np.random.Generator, size: int, bright_spot: bool) -> np.ndarray:
    """A brain-like ellipse on black, with a bright blob when `bright_spot`: a learnable toy task."""
    yy, xx = np.mgrid[:size, :size] / size
    image = ((xx - 0.5) ** 2 / 0.16 + (yy - 0.5) ** 2 / 0.2 < 1) * 90.0
    image += rng.normal(0, 12, (size, size))
    if bright_spot:
        cy, cx = rng.uniform(0.35, 0.65, 2)
        image += ((xx - cx) ** 2 + (yy - cy) ** 2 < 0.01) * 120.0
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def image_folder(tmp_path):
    """A folder of class folders ('notumor', 'tumor') of generated PNG/JPEG images."""
    from PIL import Image

    def make(per_class: int = 12, size: int = 48, classes=("notumor", "tumor"), seed: int = 0,
             name: str = "data") -> Path:
        rng = np.random.default_rng(seed)
        root = tmp_path / name
        for k, label in enumerate(classes):
            folder = root / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                image = Image.fromarray(blob_image(rng, size, bright_spot=k > 0))
                image.save(folder / f"{label}_{i:03d}.{'png' if i % 2 else 'jpg'}")
        return root

    return make
