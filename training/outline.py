"""The outline head: a small decoder on the classifier's own feature maps that draws where the
tumour is, trained beside the classification loss on slices whose tumour mask is known (expert
masks, pasted tumours, and every no-tumour slice, whose mask is empty). It teaches the shared
features to look at the tumour rather than at the collection's look.

The outline is drawn at OUTLINE_SIZE pixels a side in the frame the classifier sees (after
CropToBrain); `outline_model` maps raw pixels to per-pixel tumour probabilities in that frame.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from mri.layers import brain_boxes

OUTLINE_SIZE = 32   # a quarter of the input side: tumours are tens of pixels across, and it is cheap


def _feature_maps(classifier: keras.Model) -> dict[int, keras.KerasTensor]:
    """The last feature map of each spatial size the classifier computes, by side length."""
    maps = {}
    for layer in classifier.layers:
        shape = layer.output.shape if hasattr(layer, "output") else None
        if shape is not None and len(shape) == 4 and layer.name not in ("image", "crop_to_brain", "standardize"):
            maps[shape[1]] = layer.output
    return maps


def outline_logits(classifier: keras.Model, size: int = OUTLINE_SIZE):
    """Decoder logits [n, size, size, 1] from the classifier's coarsest map upwards, adding each
    finer map on the way (a feature-pyramid head): about 30 k weights."""
    maps = _feature_maps(classifier)
    sides = sorted(side for side in maps if side <= size)
    x = None
    for side in sides:
        skip = layers.Conv2D(48, 1, use_bias=False, name=f"outline_skip_{side}")(maps[side])
        x = skip if x is None else layers.Add(name=f"outline_add_{side}")(
            [layers.UpSampling2D(side // x.shape[1], interpolation="bilinear", name=f"outline_up_{side}")(x), skip])
        x = layers.BatchNormalization(name=f"outline_bn_{side}")(x)
        x = layers.ReLU(name=f"outline_relu_{side}")(x)
        x = layers.SeparableConv2D(48, 3, padding="same", activation="relu", name=f"outline_conv_{side}")(x)
    if size % x.shape[1]:
        raise ValueError(f"The outline ({size} px) needs a feature map whose side divides it; the finest is "
                         f"{x.shape[1]}.")
    if x.shape[1] != size:
        x = layers.UpSampling2D(size // x.shape[1], interpolation="bilinear", name="outline_up_out")(x)
    return layers.Conv2D(1, 1, name="outline_logits")(x)


@keras.saving.register_keras_serializable(package="mri_training")
class CropMaskLikeImage(layers.Layer):
    """The tumour mask cropped as CropToBrain crops its image, at the outline's size: the target the
    outline is judged against, in the frame the classifier sees."""

    def __init__(self, size: int = OUTLINE_SIZE, threshold: float = 0.1, min_share: float = 0.08,
                 margin: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.size, self.threshold, self.min_share, self.margin = size, threshold, min_share, margin

    def call(self, inputs):
        image, mask = inputs
        boxes = brain_boxes(image, self.threshold, self.min_share, self.margin)
        return tf.image.crop_and_resize(tf.cast(mask, tf.float32), boxes, tf.range(tf.shape(image)[0]),
                                        [self.size, self.size], method="bilinear")

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], self.size, self.size, 1)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "threshold": self.threshold,
                "min_share": self.min_share, "margin": self.margin}


@keras.saving.register_keras_serializable(package="mri_training")
class OutlineLoss(keras.losses.Loss):
    """Per image: pixel cross-entropy plus, where the target holds a tumour, soft-Dice loss, times
    y_true (1 where the mask is known, 0 where it is not: those images teach the outline nothing).
    y_pred stacks [logits, target] on the last axis (the target is cropped inside the model)."""

    def __init__(self, name: str = "outline", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        known = tf.reshape(tf.cast(y_true, tf.float32), [-1])
        logits, target = y_pred[..., 0], tf.clip_by_value(y_pred[..., 1], 0.0, 1.0)
        cross_entropy = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits), [1, 2])
        p = tf.sigmoid(logits)
        dice = (2.0 * tf.reduce_sum(p * target, [1, 2]) + 1.0) / (tf.reduce_sum(p + target, [1, 2]) + 1.0)
        tumour = tf.cast(tf.reduce_sum(target, [1, 2]) >= 1.0, tf.float32)
        return known * (cross_entropy + tumour * (1.0 - dice))


def outline_training_model(classifier: keras.Model) -> keras.Model:
    """{image, tumour_mask} -> {probabilities, outline}: the classifier with the outline head beside
    it, sharing every feature layer. Only the classifier and `outline_model` are ever saved."""
    image = classifier.inputs[0]
    mask = keras.Input(shape=(*image.shape[1:3], 1), name="tumour_mask")
    crop = classifier.get_layer("crop_to_brain").get_config()
    target = CropMaskLikeImage(OUTLINE_SIZE, crop["threshold"], crop["min_share"], crop["margin"],
                               name="outline_target")([image, mask])
    pair = layers.Concatenate(name="outline")([outline_logits(classifier), target])
    return keras.Model({"image": image, "tumour_mask": mask}, {"probabilities": classifier.outputs[0], "outline": pair},
                       name=f"{classifier.name}_with_outline")


def fit_outline_alone(classifier: keras.Model, fitted: keras.Model, train, validation, settings, verbose: int = 1,
                      steps_per_epoch: int | None = None, callbacks: list | None = None) -> dict:
    """The outline head's own stage: the classifier frozen at the epoch it was chosen at (so its answers
    do not change), the decoder trained on the outline loss alone, its best validation epoch kept.
    Beside the classifier, the decoder would be restored with the classifier's epoch, often its first."""
    classifier.trainable = False
    fitted.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=fitted.loss,
                   loss_weights={"probabilities": 0.0, "outline": 1.0})
    stop = keras.callbacks.EarlyStopping(monitor="val_outline_loss", mode="min", patience=settings.patience,
                                         restore_best_weights=True)
    history = fitted.fit(train, validation_data=validation, epochs=settings.outline_epochs,
                         callbacks=[stop, *(callbacks or [])], verbose=verbose, steps_per_epoch=steps_per_epoch)
    classifier.trainable = True
    return history.history


def classifier_figure_name(key: str, outline: bool) -> str:
    """Keras names a two-output run's figures by output ("val_probabilities_loss"); the classifier's
    keep the one-output names ("val_loss"), the sum of both losses becomes "..._total_loss"."""
    if not outline:
        return key
    if key in ("loss", "val_loss"):
        return key.replace("loss", "total_loss")
    return key.replace("probabilities_", "")


def outline_model(training_model: keras.Model) -> keras.Model:
    """Raw pixels -> tumour probability per pixel, [n, OUTLINE_SIZE, OUTLINE_SIZE, 1], in the cropped frame."""
    image = training_model.inputs[0] if not isinstance(training_model.input, dict) else training_model.input["image"]
    logits = training_model.get_layer("outline_logits").output
    return keras.Model(image, layers.Activation("sigmoid", name="outline_probability")(logits), name="outline")


def cropped_masks(pixels: np.ndarray, masks: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Expert masks [n, h, w] cropped like their images, at the outline's size, 1 where >= half tumour."""
    crop = CropMaskLikeImage()
    out = [crop([tf.constant(pixels[i:i + batch_size], tf.float32), tf.constant(masks[i:i + batch_size, ..., None])])
           for i in range(0, len(pixels), batch_size)]
    if not out:
        return np.zeros((0, OUTLINE_SIZE, OUTLINE_SIZE), bool)
    return (np.concatenate([o.numpy() for o in out]) >= 0.5)[..., 0]


def dice_scores(model: keras.Model, pixels: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Dice of the outline (probability >= 0.5) against each slice's cropped expert mask; slices
    whose cropped mask is empty are left out (Dice is undefined there)."""
    target = cropped_masks(pixels, masks)
    keep = target.reshape(len(target), -1).any(axis=1)
    if not keep.any():
        return np.zeros(0)
    predicted = model.predict(pixels[keep].astype(np.float32), batch_size=128, verbose=0)[..., 0] >= 0.5
    target = target[keep]
    overlap = (predicted & target).sum(axis=(1, 2))
    return 2.0 * overlap / (predicted.sum(axis=(1, 2)) + target.sum(axis=(1, 2)))


def outline_figures(model: keras.Model, data, subset: str = "test") -> dict:
    """Dice of the outline on `subset`'s tumour slices of each collection with expert masks (for the
    test subset: patients the outline never trained on)."""
    figures = {}
    rows = data.mask(subset) & data.has_mask
    for collection in sorted({data.records[i].source for i in np.nonzero(rows)[0]}):
        keep = rows & np.array([r.source == collection for r in data.records])
        if summary := dice_summary(dice_scores(model, data.pixels[keep], data.masks[keep])):
            figures[collection] = summary
    return figures


def dice_summary(scores: np.ndarray) -> dict | None:
    """Per-slice Dice scores -> the figures the reports give; None for no slice."""
    if not len(scores):
        return None
    return {"slices": int(len(scores)), "mean_dice": float(scores.mean()), "median_dice": float(np.median(scores)),
            "share_at_least_0_6": float((scores >= 0.6).mean())}
