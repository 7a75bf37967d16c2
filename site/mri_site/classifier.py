"""The shipped Keras model, loaded once per process and shared by the request threads.

The model and its metadata.json come from MRI_MODEL_DIR (frontend/model/, the files the page
downloads), the image goes through mri.images.load_model_input, the preprocessing the page's
JavaScript is tested against, and the answer is shaped by mri.contract. So the API answers
what the page answers.
"""
from __future__ import annotations

import io
import logging
import threading
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from django.conf import settings
from PIL import Image

from mri import feature_scope
from mri.contract import ContractError, answer, read_metadata, tumor_threshold
from mri.images import is_dicom, load_model_input
from mri.layers import load_model
from mri.scope import judge_dicom
from mri.volumes import model_inputs, read_volume, summarize

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """The model could not be loaded; the message says which file and why."""


class Classifier:
    def __init__(self, model_dir: Path, tf_threads: int = 1):
        _limit_tensorflow_threads(tf_threads)
        try:
            self.metadata = read_metadata(model_dir / "metadata.json")
        except ContractError as err:
            raise ModelUnavailable(f"{err} Re-export the model with convert/.") from err
        model_path = model_dir / "model.h5"
        try:
            self.model = load_model(str(model_path))
        except Exception as err:  # h5py/Keras raise many types for a missing or damaged file
            raise ModelUnavailable(f"{model_path} could not be loaded ({err}); restore it or "
                                   "re-export the model with convert/.") from err
        m = self.metadata
        takes, gives = tuple(self.model.input_shape), tuple(self.model.output_shape)
        if takes != (None, m.height, m.width, m.channels) or gives != (None, len(m.labels)):
            raise ModelUnavailable(
                f"{model_path} takes {takes} and gives {gives}, but metadata.json says "
                f"{m.height}x{m.width}x{m.channels} and {len(m.labels)} labels; ship them together.")
        # metadata.json's feature_scope (mri/feature_scope.py): the features come out of the same
        # call as the probabilities. Older metadata, or a model without that layer: no such check.
        self.feature_scope = feature_scope.block_of(m.document)
        single = self.model
        if self.feature_scope is not None:
            try:
                single = feature_scope.feature_model(self.model, self.feature_scope)
            except ValueError as err:
                log.warning("feature_scope not applied: %s", err)
                self.feature_scope = None
        # One traced graph with a fixed signature: safe to call from many threads at once, and
        # without model.predict's per-call set-up (several milliseconds for one image).
        self._predict = tf.function(
            lambda x: single(x, training=False),
            input_signature=[tf.TensorSpec((1, m.height, m.width, m.channels), tf.float32)])
        # A scan's slices go through in batches of any size.
        self._predict_batch = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[tf.TensorSpec((None, m.height, m.width, m.channels), tf.float32)])
        # Trace the graph and warm up the whole path (decoder, resize kernel, model) before the
        # first request, so that it does not pay for them.
        self.classify(_blank_png(), "warm-up.png")

    def predict_array(self, pixels: np.ndarray) -> np.ndarray:
        """Model input [h, w, c] float32 0-255 -> probabilities in label order."""
        return self._predict_with_features(pixels)[0]

    def _predict_with_features(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Model input -> (probabilities, the feature scope's features or None)."""
        out = self._predict(pixels[None])
        if self.feature_scope is None:
            return out.numpy()[0], None
        features, probabilities = out
        return probabilities.numpy()[0], features.numpy()[0]

    def classify(self, data: bytes, name: str) -> dict:
        """Image bytes -> the contract's answer (docs/contract.md). Raises
        mri.images.ImageDecodeError."""
        m = self.metadata
        started = time.perf_counter()
        pixels = load_model_input(data, m.height, m.width, m.channels, name)
        probabilities, features = self._predict_with_features(pixels)
        ms = (time.perf_counter() - started) * 1000.0
        result = {**answer(probabilities, m), "model": m.architecture, "ms": round(ms, 2)}
        # A header outside what the model knows (mri/scope.py), or features unlike the training
        # images' (mri/feature_scope.py), withhold the verdict; the probabilities stay.
        reasons = []
        if is_dicom(data):
            result["scope"] = judge_dicom(data)
            reasons += result["scope"]["reasons"]
        if features is not None:
            judged = feature_scope.judge(features, self.feature_scope)
            result["feature_scope"] = {k: judged[k] for k in ("distance", "cutoff", "withheld")}
            reasons += [judged["reason"]] if judged["withheld"] else []
        if reasons:
            result.update(level="not-mri", reasons=reasons)
        return result

    def classify_volume(self, data: bytes, name: str, max_voxels: int) -> dict:
        """NIfTI bytes -> per-slice results and the scan's summary. Raises VolumeError."""
        m = self.metadata
        if m.channels != 1:
            raise ModelUnavailable("the model takes colour images; scans need a grayscale model")
        started = time.perf_counter()
        volume = read_volume(data, name, max_voxels)
        indices, inputs = model_inputs(volume, m.height, m.width)
        probabilities = (np.concatenate([self._predict_batch(inputs[i:i + BATCH]).numpy()
                                         for i in range(0, len(inputs), BATCH)])
                         if len(inputs) else np.zeros((0, len(m.labels))))
        slices = [{"index": int(index), **answer(row, m)} for index, row in zip(indices, probabilities)]
        summary = summarize([s["index"] for s in slices], [s["tumor_probability"] for s in slices],
                            len(volume.slices), volume.notes, tumor_threshold(m))
        return {"slices": slices, "summary": summary, "model": m.architecture,
                "ms": round((time.perf_counter() - started) * 1000.0, 2)}


# Slices per model call for a scan: large enough to amortise the call, small enough for memory.
BATCH = 32


def _blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (64, 64)).save(buffer, format="PNG")
    return buffer.getvalue()


def _limit_tensorflow_threads(threads: int) -> None:
    if threads <= 0:
        return  # TensorFlow's default: one thread per core
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        # TensorFlow was already running in this process (tests); its setting stands.
        log.debug("TensorFlow threads already fixed; MRI_TF_THREADS not applied")


_classifier: Classifier | None = None
_lock = threading.Lock()


def get_classifier() -> Classifier:
    """The process's classifier, loaded on first use; concurrent first calls load it once.
    A failed load is not remembered, so a restored model file is picked up by the next request."""
    global _classifier
    if _classifier is None:
        with _lock:
            if _classifier is None:
                started = time.perf_counter()
                _classifier = Classifier(Path(settings.MRI_MODEL_DIR), settings.MRI_TF_THREADS)
                log.info("model %s loaded from %s in %.1f s", _classifier.metadata.architecture,
                         settings.MRI_MODEL_DIR, time.perf_counter() - started)
    return _classifier


def model_is_loaded() -> bool:
    return _classifier is not None
