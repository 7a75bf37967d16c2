"""The feature scope: how far an image's features (the model's own view of it: one layer's feature
map averaged over the image) lie from those of the training images. The Python twin of
frontend/js/shared/featurescope.js; training/feature_scope.py fits it and writes metadata.json's
`feature_scope` block, which both runtimes read.

The distance is a Mahalanobis distance to the nearest class mean with one shared covariance,
kept small: its top `k` principal directions exactly, the rest as one residual variance. It is
reported per feature dimension, sqrt(d^2 / D), so a typical training image sits near 1. An image
further than the block's `cutoff` (a high percentile of the validation subset's distances) is
unlike anything the model was trained on and gets no verdict.
"""
from __future__ import annotations

import math

import keras
import numpy as np

BLOCK = "feature_scope"
CODE = "unlike-training"


def block_of(document: dict) -> dict | None:
    """metadata.json's feature_scope block when it is usable, else None (older metadata: no check)."""
    block = document.get(BLOCK) if isinstance(document, dict) else None
    if not isinstance(block, dict):
        return None
    try:
        means = np.asarray(block["means"], np.float64)
        components = np.asarray(block["components"], np.float64)
        scales = np.asarray(block["scales"], np.float64)
        usable = (means.ndim == 2 and components.ndim == 2 and components.shape[1] == means.shape[1]
                  and scales.shape == (components.shape[0],) and float(block["residual_scale"]) >= 0
                  and math.isfinite(float(block["cutoff"]))
                  and isinstance(block["node"], str) and isinstance(block["layer"], str))
    except (KeyError, TypeError, ValueError):
        return None
    return block if usable else None


def feature_model(model, block: dict):
    """The Keras model with a second output: the block's layer, averaged over the image (its
    spatial positions) when it is a feature map, as the page averages the graph node's output."""
    features = model.get_layer(block["layer"]).output
    if len(features.shape) == 4:
        features = keras.ops.mean(features, axis=(1, 2))
    return keras.Model(model.inputs, [features, model.outputs[0]])


def distances(features: np.ndarray, block: dict) -> np.ndarray:
    """Pooled features [n, D] (or [D]) -> the distance of each image, [n] (or a float)."""
    f = np.asarray(features, np.float64)
    single = f.ndim == 1
    f = np.atleast_2d(f)
    means = np.asarray(block["means"], np.float64)
    components = np.asarray(block["components"], np.float64)
    scales = np.asarray(block["scales"], np.float64)
    d = f[:, None, :] - means[None]  # [n, classes, D]
    projected = d @ components.T  # [n, classes, k]
    residual = np.maximum((d * d).sum(-1) - (projected * projected).sum(-1), 0.0)
    squared = ((projected * scales) ** 2).sum(-1) + residual * float(block["residual_scale"]) ** 2
    out = np.sqrt(squared.min(axis=1) / means.shape[1])
    return float(out[0]) if single else out


def judge(features: np.ndarray, block: dict) -> dict:
    """One image's pooled features -> {distance, cutoff, withheld, reason}."""
    distance = distances(features, block)
    cutoff = float(block["cutoff"])
    withheld = distance > cutoff
    reason = (f"The image is unlike the MRI slices the model was trained on (feature distance {distance:.2f} "
              f"above the cut-off {cutoff:.2f}); it may not be a brain MRI slice." if withheld else None)
    return {"distance": round(distance, 4), "cutoff": cutoff, "withheld": withheld, "reason": reason}
