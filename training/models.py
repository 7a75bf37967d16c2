"""Model registry: name -> builder `fn(input_shape, num_classes) -> keras.Model`.

Every model takes raw pixels (float32 0-255, [h, w, c]) and does its own normalisation, so Keras,
TF.js and the server run one definition. Every model ends in softmax. Register a new model with
`@register_model` and add its name to training.defaults.MODELS (the commands' choices); the
parametrised test in tests/test_models.py then covers it.
"""
from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf
from keras import layers, ops

_MODELS: dict[str, Callable[..., keras.Model]] = {}


def register_model(fn: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
    _MODELS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    return sorted(_MODELS)


def create_model(name: str, input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    if name not in _MODELS:
        raise ValueError(f"Unknown model {name!r}; known models: {', '.join(list_models())}.")
    return _MODELS[name](input_shape, num_classes)


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
    margins (the head fills ~60 % of the frame) and the normal scans are cropped tight (~80 %), and
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
        height, width = x.shape[1], x.shape[2]
        gray = tf.reduce_max(x, axis=-1)
        # 1 where brighter than the threshold, else 0; sign(relu(.)) rather than a comparison
        # because TF.js's wasm Greater with broadcasting took 2 ms, a third of the whole model.
        bright = tf.sign(tf.nn.relu(gray - self.threshold * tf.reduce_max(gray, axis=[1, 2], keepdims=True)))
        rows = tf.cast(tf.reduce_mean(bright, axis=2) >= self.min_share, tf.float32)
        cols = tf.cast(tf.reduce_mean(bright, axis=1) >= self.min_share, tf.float32)

        def extent(profile, size):
            first = tf.cast(tf.argmax(profile, axis=1), tf.float32)
            last = size - 1.0 - tf.cast(tf.argmax(tf.reverse(profile, [1]), axis=1), tf.float32)
            empty = tf.reduce_max(profile, axis=1) == 0.0
            return tf.where(empty, 0.0, first), tf.where(empty, size - 1.0, last)

        top, bottom = extent(rows, height)
        left, right = extent(cols, width)
        # In normalised coordinates (0 = first pixel centre, 1 = last), as crop_and_resize takes them.
        half = tf.maximum((bottom - top) / (height - 1), (right - left) / (width - 1)) / 2 * (1 + self.margin)
        half = tf.maximum(half, 0.25)
        cy, cx = (top + bottom) / 2 / (height - 1), (left + right) / 2 / (width - 1)
        boxes = tf.stack([cy - half, cx - half, cy + half, cx + half], axis=1)
        indices = tf.range(tf.shape(x)[0])
        return tf.image.crop_and_resize(x, boxes, indices, [height, width], method="bilinear")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold, "min_share": self.min_share, "margin": self.margin}


def load_model(path: str) -> keras.Model:
    """Load a model saved by this project (custom layers registered by importing this module)."""
    return keras.models.load_model(path, compile=False)


def _inputs(input_shape):
    """Raw pixels in, then the preprocessing every model shares: crop to the head, standardise."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = CropToBrain(name="crop_to_brain")(inputs)
    x = PerImageStandardization(name="standardize")(x)
    return inputs, x


@register_model
def cnn(input_shape, num_classes):
    """The paper's hand-built CNN: three conv(3x3)+max-pool blocks (32, 64, 128), dense 128, dropout.

    The image is average-pooled to half size first: full-resolution 3x3 convolutions cost ~200 s
    an epoch on a 2-core CPU, and tumours are far larger than two pixels.
    """
    inputs, x = _inputs(input_shape)
    x = layers.AveragePooling2D(2)(x)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn")


@register_model
def lenet(input_shape, num_classes):
    """LeNet-5's character: two conv(5x5)/pool stages (6, 16 filters) and three dense layers
    (120, 84, classes), on the image average-pooled to about 32 px, the size LeNet read."""
    inputs, x = _inputs(input_shape)
    x = layers.AveragePooling2D(max(1, input_shape[0] // 32))(x)
    x = layers.Conv2D(6, 5, activation="tanh")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Conv2D(16, 5, activation="tanh")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="tanh")(x)
    x = layers.Dense(84, activation="tanh")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="lenet")


@register_model
def alexnet(input_shape, num_classes):
    """AlexNet's character: an 11x11 stride-4 first layer, five conv layers with overlapping 3x3/2
    max-pools, three dense layers with dropout; filters and dense widths scaled down about 3x so
    it trains on a 2-core CPU."""
    inputs, x = _inputs(input_shape)
    x = layers.Conv2D(32, 11, strides=4, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = layers.Conv2D(96, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(96, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="alexnet")


@register_model
def compact(input_shape, num_classes):
    """Our CPU-first net: a stride-2 stem, then separable convolutions (depthwise 3x3 + pointwise)
    with batch norm, downsampling by stride, global average pooling straight into the classifier.
    ~0.21 M parameters (under a megabyte) and ~26 M multiply-adds at 128 px, so the page
    downloads it at once and answers in milliseconds. Three 256-filter blocks: 8x8 maps are the
    cheapest place for capacity (reports/shortcut.md)."""
    inputs, x = _inputs(input_shape)
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for filters, strides in ((64, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (256, 1)):
        x = layers.SeparableConv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="compact")
