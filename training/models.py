"""Model registry: name -> builder `fn(input_shape, num_classes) -> keras.Model`.

Every model takes raw pixels (float32 0-255, [h, w, c]) and does its own normalisation, so Keras,
TF.js and the server run one definition. Every model ends in softmax. Register a new model with
`@register_model`: the commands take its name and the parametrised test in tests/test_models.py
covers it. The custom layers every model starts with live in mri.layers (the server loads them too).
`compiled_model` makes the one a run fits: the tumour-aware loss, Adam on a cosine schedule, batch
norm on the fused kernel (training.fused_batch_norm) and, with --outline-weight, the outline head
beside it (training.outline).
"""
from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf
from keras import layers

from mri.layers import CropToBrain, PerImageStandardization, load_model
from training.data import PreparedData
from training.fused_batch_norm import use_fused_batch_norm
from training.outline import OutlineLoss, outline_training_model
from training.settings import TrainingSettings

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


def _inputs(input_shape):
    """Raw pixels in, then the preprocessing every model shares: crop to the head, standardise."""
    inputs = keras.Input(shape=input_shape, name="image")
    # float32 under any dtype policy: TF has no bfloat16 crop-and-resize.
    x = CropToBrain(name="crop_to_brain", dtype="float32")(inputs)
    x = PerImageStandardization(name="standardize", dtype="float32")(x)
    return inputs, x


@register_model
def cnn(input_shape, num_classes):
    """The paper's hand-built CNN: three conv(3x3)+max-pool blocks (32, 64, 128), dense 128, dropout.

    The image is average-pooled to half size first: full-resolution 3x3 convolutions are too slow
    on a CPU (docs/log.md), and tumours are far larger than two pixels.
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
    Under a megabyte, with few multiply-adds at 128 px, so the page downloads it at once and
    answers in milliseconds. Three 256-filter blocks: 8x8 maps are the cheapest place for
    capacity (docs/log.md)."""
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


@keras.saving.register_keras_serializable(package="mri_training")
class TumourAwareLoss(keras.losses.Loss):
    """Cross-entropy over the output classes; for y == classes (a tumour of none of the output
    types, training.folders.OTHER_TUMOUR_LABELS) -log(1 - p(notumor)) alone: it teaches "tumour", no type."""

    def __init__(self, notumor: int, classes: int, name: str = "tumour_aware_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.notumor, self.classes = notumor, classes

    def call(self, y_true, y_pred):
        y = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        p = tf.clip_by_value(y_pred, 1e-7, 1.0)
        known = -tf.math.log(tf.gather(p, tf.minimum(y, self.classes - 1), batch_dims=1))
        other = -tf.math.log(tf.clip_by_value(1.0 - y_pred[:, self.notumor], 1e-7, 1.0))
        return tf.where(y < self.classes, known, other)

    def get_config(self):
        return {**super().get_config(), "notumor": self.notumor, "classes": self.classes}


def compiled_model(data: PreparedData, s: TrainingSettings, steps_per_epoch: int) -> tuple[keras.Model, keras.Model]:
    """(classifier, the model to fit): the same model, or the classifier with the outline head beside
    it; compiled with Adam on a cosine schedule and the tumour-aware loss (plus the outline's)."""
    use_fused_batch_norm()
    classification = TumourAwareLoss(data.no_tumor_index or 0, len(data.labels))
    model = create_model(s.model, data.input_shape, len(data.labels))
    if s.init_from:
        model.set_weights(load_model(s.init_from).get_weights())
    # Cosine decay over the planned epochs: smoother than cutting the rate on a noisy
    # validation loss, and early stopping still keeps the best epoch's weights.
    schedule = keras.optimizers.schedules.CosineDecay(s.learning_rate, max(1, s.epochs * steps_per_epoch), alpha=0.02)
    if s.outline_weight <= 0:
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=classification, metrics=["accuracy"])
        return model, model
    fitted = outline_training_model(model)
    fitted.compile(optimizer=keras.optimizers.Adam(schedule),
                   loss={"probabilities": classification, "outline": OutlineLoss()},
                   loss_weights={"probabilities": 1.0, "outline": s.outline_weight},
                   metrics={"probabilities": ["accuracy"]})
    return model, fitted
