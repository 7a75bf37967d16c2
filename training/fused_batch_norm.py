"""Batch norm in training through TensorFlow's fused kernel.

Keras 3 computes a training batch's statistics and the normalisation as separate element-wise ops;
this TensorFlow build runs those without AVX, while its fused batch-norm kernel (oneDNN) uses the
CPU's vector units, about 3x faster on our layers (reports/train-bench.md). `use_fused_batch_norm()`
swaps the fused kernel into `keras.layers.BatchNormalization` for training steps only: inference,
the saved model and its weights are Keras's own, so the page and the server see no difference.
"""
from __future__ import annotations

import keras
import tensorflow as tf

_KERAS_CALL = keras.layers.BatchNormalization.call


def _fits(layer, inputs, training, mask) -> bool:
    return bool(training and layer.trainable and mask is None and not layer.renorm and layer.center and layer.scale
                and len(inputs.shape) == 4 and layer.axis in (-1, 3) and inputs.dtype == tf.float32)


def _fused_call(self, inputs, training=None, mask=None):
    if not _fits(self, inputs, training, mask):
        return _KERAS_CALL(self, inputs, training=training, mask=mask)
    y, mean, variance = tf.compat.v1.nn.fused_batch_norm(inputs, self.gamma, self.beta, epsilon=self.epsilon,
                                                         is_training=True)
    # The kernel returns the batch's unbiased variance; Keras averages the biased one.
    n = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
    variance = variance * (n - 1.0) / n
    self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
    self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
    return y


def use_fused_batch_norm(on: bool = True) -> None:
    """From now on, in this process, train batch-norm layers with the fused kernel, or with Keras's
    own ops again (`on=False`, to measure the difference). Takes effect where a step is traced next."""
    if keras.backend.backend() == "tensorflow":
        keras.layers.BatchNormalization.call = _fused_call if on else _KERAS_CALL
