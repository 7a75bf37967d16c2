"""The custom Keras layers every model of this project starts with, and `load_model`, which knows
them: shared by training, the converter and the server, so none of them imports the others.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


@keras.saving.register_keras_serializable(package="mri")
class PerImageStandardization(layers.Layer):
    """(x - mean) / max(std, 1/sqrt(N)) per image, like tf.image.per_image_standardization.

    Scans from different scanners and collections differ mostly in brightness and contrast; making
    every image zero-mean, unit-variance removes the cheapest cue for "which collection is this",
    which is the shortcut the 4-class data set invites.
    """

    def call(self, x):
        mean = _staged_mean(x)
        variance = _staged_mean(ops.square(x - mean))
        shape = ops.shape(x)
        pixels = ops.cast(shape[1] * shape[2] * shape[3], x.dtype)
        return (x - mean) / ops.maximum(ops.sqrt(variance), ops.rsqrt(pixels))


def _staged_mean(x):
    """ops.mean(x, axis=(1, 2, 3)), one image side at a time: TF.js's wasm Mean kernel sums a
    whole image in one float32 loop, which moved a trained net's probabilities by 1e-4 against
    Keras; two 128-term sums keep the two runtimes within 1e-6."""
    return ops.mean(ops.mean(x, axis=2, keepdims=True), axis=(1, 3), keepdims=True)


@keras.saving.register_keras_serializable(package="mri")
class CropToBrain(layers.Layer):
    """Crop each image to a square around the head and resize it back to the input size.

    Collections frame the head differently: in the 4-class set the tumour scans leave wide black
    margins and the normal scans are cropped tight (docs/log.md has the shares), and
    a tumour scan from elsewhere cropped tight was called normal. Cropping every image the same way
    removes that cue. Head rows and columns are those where at least `min_share` of the pixels are
    brighter than `threshold` x the image's brightest pixel, which ignores burnt-in letters and
    thin lines; the square gets a `margin` and is at least half the image (at most 2x zoom).
    An all-black image keeps its whole frame. Plain TF ops, so TF.js runs the same crop.
    """

    def __init__(self, threshold: float = 0.1, min_share: float = 0.08, margin: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.threshold, self.min_share, self.margin = threshold, min_share, margin

    def call(self, x):
        boxes = brain_boxes(x, self.threshold, self.min_share, self.margin)
        return tf.image.crop_and_resize(x, boxes, tf.range(tf.shape(x)[0]), [x.shape[1], x.shape[2]], method="bilinear")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold, "min_share": self.min_share, "margin": self.margin}


def brain_boxes(x, threshold: float = 0.1, min_share: float = 0.08, margin: float = 0.05):
    """CropToBrain's square per image, [n, 4] in crop_and_resize's normalised coordinates; also
    used to crop a tumour mask the way its image is cropped."""
    height, width = x.shape[1], x.shape[2]
    gray = tf.reduce_max(x, axis=-1)
    # 1 where brighter than the threshold, else 0; sign(relu(.)) rather than a comparison
    # because TF.js's wasm Greater with broadcasting is slow (docs/log.md).
    bright = tf.sign(tf.nn.relu(gray - threshold * tf.reduce_max(gray, axis=[1, 2], keepdims=True)))
    rows = tf.cast(tf.reduce_mean(bright, axis=2) >= min_share, tf.float32)
    cols = tf.cast(tf.reduce_mean(bright, axis=1) >= min_share, tf.float32)

    def extent(profile, size):
        first = tf.cast(tf.argmax(profile, axis=1), tf.float32)
        last = size - 1.0 - tf.cast(tf.argmax(tf.reverse(profile, [1]), axis=1), tf.float32)
        empty = tf.reduce_max(profile, axis=1) == 0.0
        return tf.where(empty, 0.0, first), tf.where(empty, size - 1.0, last)

    top, bottom = extent(rows, height)
    left, right = extent(cols, width)
    # In normalised coordinates (0 = first pixel centre, 1 = last), as crop_and_resize takes them.
    half = tf.maximum((bottom - top) / (height - 1), (right - left) / (width - 1)) / 2 * (1 + margin)
    half = tf.maximum(half, 0.25)
    cy, cx = (top + bottom) / 2 / (height - 1), (left + right) / 2 / (width - 1)
    return tf.stack([cy - half, cx - half, cy + half, cx + half], axis=1)


def load_model(path: str) -> keras.Model:
    """Load a model saved by this project (custom layers registered by importing this module)."""
    return keras.models.load_model(path, compile=False)
