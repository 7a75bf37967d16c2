"""Training's fused batch norm (training.fused_batch_norm) must train exactly as Keras's own ops:
the same output, gradients and moving statistics; inference untouched."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from training.fused_batch_norm import use_fused_batch_norm


def one_step(shape=(8, 16, 16, 5)):
    """A batch-norm layer's training output, moving statistics and gradients, then its inference output."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random(shape, np.float32) * 3 + 1)
    weights = tf.constant(rng.random(shape, np.float32))
    layer = keras.layers.BatchNormalization()
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        # Not symmetric in y, so the gradient of beta is not ~0 for both.
        loss = tf.reduce_sum(y * y * tf.range(shape[-1], dtype=tf.float32) + y * weights)
    grads = tape.gradient(loss, [x, *layer.trainable_variables])
    return [y, layer.moving_mean, layer.moving_variance, *grads, layer(x, training=False)]


@pytest.fixture
def keras_then_fused():
    use_fused_batch_norm(False)
    before = [np.asarray(a) for a in one_step()]
    use_fused_batch_norm(True)
    try:
        yield before, [np.asarray(a) for a in one_step()]
    finally:
        use_fused_batch_norm(False)


def test_fused_batch_norm_trains_as_keras_does(keras_then_fused):
    before, after = keras_then_fused
    names = ["output", "moving mean", "moving variance", "input grad", "gamma grad", "beta grad", "inference output"]
    for name, a, b in zip(names, before, after):
        assert np.max(np.abs(a - b)) <= 1e-4 * (np.max(np.abs(a)) + 1e-6), name
    # The moving statistics did move: the check above compares something.
    assert np.max(np.abs(before[1])) > 0.01


def test_fused_batch_norm_is_the_kernel_in_use():
    use_fused_batch_norm(True)
    try:
        layer = keras.layers.BatchNormalization()
        graph = tf.function(lambda x: layer(x, training=True)).get_concrete_function(
            tf.TensorSpec((2, 4, 4, 3), tf.float32)).graph
        assert any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())
    finally:
        use_fused_batch_norm(False)
