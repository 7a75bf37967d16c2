"""Where the model looked: occlusion sensitivity, the Python reference of frontend/js/shared/explain.js.

The page runs a TF.js graph model, which offers no gradients, so it explains with occlusion: cover
one square patch of the model input at a time with FILL_VALUE (0, the black background of an MRI
slice), run every occluded copy through the model in batches, and credit each pixel with the mean
drop of the explained class's probability over the patches that covered it. High values: hiding
this region lowered the answer most. tests/test_explain.py checks that this file and the page's
give the same map for the same model and input; `python -m training.explain` runs it on one file.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
from keras import ops
from matplotlib import colormaps
from PIL import Image

from mri.contract import read_metadata
from mri.images import load_model_input
from mri.layers import load_model

# A patch an eighth of the side, moved half a patch at a time: 15 x 15 = 225 forward passes at
# 128 px. Smaller patches sharpen the map and cost quadratically more passes.
PATCH_FRACTION = 1 / 8
FILL_VALUE = 0.0
BATCH_SIZE = 32

Predict = Callable[[np.ndarray], np.ndarray]  # float32 [n, h, w, c] -> probabilities [n, classes]


def _round_half_up(x: float) -> int:
    # JavaScript's Math.round; Python's round() rounds halves to even.
    return int(math.floor(x + 0.5))


def occlusion_settings(height: int, width: int) -> tuple[int, int]:
    """(patch side, stride) for an input of this size."""
    patch = max(1, _round_half_up(min(height, width) * PATCH_FRACTION))
    return patch, max(1, _round_half_up(patch / 2))


def patch_positions(size: int, patch: int, stride: int) -> list[int]:
    """Start offsets along one axis: every `stride`, plus a last one flush with the edge."""
    positions = list(range(0, size - patch + 1, stride))
    if not positions or positions[-1] + patch < size:
        positions.append(max(0, size - patch))
    return positions


def occlusion_patches(height: int, width: int, patch: int, stride: int) -> list[tuple[int, int]]:
    """Every patch's top-left corner (y, x), row by row."""
    return [(y, x) for y in patch_positions(height, patch, stride) for x in patch_positions(width, patch, stride)]


def occluded_batch(image: np.ndarray, patches: list[tuple[int, int]], patch: int,
                   fill: float = FILL_VALUE) -> np.ndarray:
    """Copies of `image` ([h, w, c]) with one patch each set to `fill`: [len(patches), h, w, c]."""
    batch = np.repeat(image[None].astype(np.float32), len(patches), axis=0)
    for k, (y, x) in enumerate(patches):
        batch[k, y:y + patch, x:x + patch, :] = fill
    return batch


def occlusion_map(base_score: float, scores: np.ndarray, patches: list[tuple[int, int]],
                  height: int, width: int, patch: int) -> np.ndarray:
    """Per-pixel mean drop of the explained class's probability: float32 [h, w]."""
    total = np.zeros((height, width), np.float64)
    count = np.zeros((height, width), np.int64)
    for (y, x), score in zip(patches, scores):
        total[y:y + patch, x:x + patch] += float(base_score) - float(score)
        count[y:y + patch, x:x + patch] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0).astype(np.float32)


def occlusion_sensitivity(predict: Predict, image: np.ndarray, class_index: int | None = None,
                          batch_size: int = BATCH_SIZE) -> tuple[np.ndarray, int, np.ndarray]:
    """Occlusion map of `image` (float32 [h, w, c], the model input) for `class_index` (default:
    the top class). Returns (map [h, w], class_index, the unoccluded probabilities)."""
    height, width, _ = image.shape
    base = np.asarray(predict(image[None].astype(np.float32)))[0]
    if class_index is None:
        class_index = int(np.argmax(base))
    patch, stride = occlusion_settings(height, width)
    patches = occlusion_patches(height, width, patch, stride)
    scores = np.empty(len(patches), np.float32)
    for start in range(0, len(patches), batch_size):
        chunk = patches[start:start + batch_size]
        scores[start:start + len(chunk)] = np.asarray(predict(occluded_batch(image, chunk, patch)))[:, class_index]
    return occlusion_map(base[class_index], scores, patches, height, width, patch), class_index, base


def keras_predictor(model) -> Predict:
    """A Keras model as a Predict function (a direct call: no per-call overhead of model.predict)."""
    return lambda batch: ops.convert_to_numpy(model(batch, training=False))


def overlay(image: np.ndarray, heatmap: np.ndarray):
    """The model input (gray or RGB, 0-255) with the positive part of the map on top, as a PIL image."""
    gray = image.mean(axis=-1) if image.shape[-1] > 1 else image[..., 0]
    base = np.repeat(np.clip(gray, 0, 255)[..., None], 3, axis=-1) / 255.0
    peak = float(heatmap.max())
    strength = np.clip(heatmap / peak, 0, 1) if peak > 0 else np.zeros_like(heatmap)
    colours = colormaps["hot"](strength)[..., :3]
    alpha = np.clip(strength * 1.25, 0, 1)[..., None] * 0.6
    return Image.fromarray(((base * (1 - alpha) + colours * alpha) * 255).astype(np.uint8))


def explain_file(model_path: Path, image_path: Path, label: str | None = None) -> dict:
    """Classify and explain one file with a saved model; returns a JSON-ready summary and arrays."""
    metadata = read_metadata(model_path.parent / "metadata.json")
    labels = list(metadata.labels)
    if label is not None and label not in labels:
        raise SystemExit(f"--label {label!r} is not one of the model's labels: {', '.join(labels)}.")
    image = load_model_input(image_path.read_bytes(), metadata.height, metadata.width, metadata.channels,
                             image_path.name)
    heatmap, index, probabilities = occlusion_sensitivity(
        keras_predictor(load_model(str(model_path))), image, None if label is None else labels.index(label))
    peak = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    return {
        "file": str(image_path),
        "probabilities": dict(zip(labels, map(float, probabilities))),
        "explained": labels[index],
        "largest_drop": float(heatmap.max()),
        "largest_drop_at": {"y": int(peak[0]), "x": int(peak[1])},
        "image": image,
        "heatmap": heatmap,
    }
