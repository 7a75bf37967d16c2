"""Fit: tf.data pipelines over the prepared arrays (augmentation for the training subset only, never
inside the saved model), then a registered model compiled and fitted under a tf.distribute strategy.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from mri.contract import find_no_tumor_label
from mri.layers import load_model
from training.augment import augment_one
from training.data import PreparedData, sampling_weights
from training.models import create_model
from training.outline import OutlineLoss, fit_outline_alone, outline_model, outline_training_model
from training.paste import PastePlan, paste_tumour, plan_pastes
from training.settings import DEFAULTS, SEED, TrainingSettings


def make_dataset(pixels: np.ndarray, labels: np.ndarray, batch_size: int, training: bool, seed: int = SEED,
                 intensity: str = DEFAULTS.intensity, skull: bool = DEFAULTS.skull, weights: np.ndarray | None = None,
                 epochs: int = 1, pastes: Callable[[np.ndarray], PastePlan] | None = None,
                 masks: np.ndarray | None = None, glioma: int = 0, known: np.ndarray | None = None):
    """tf.data pipeline over cached arrays; augmentation only when `training`. With `weights`,
    training images are drawn with those probabilities (with replacement), `epochs` x n of them;
    with `pastes` (draws -> PastePlan) and `masks`, some glioma draws become pasted tumours.
    With `known` (1 where an image's tumour mask is known), elements are ({image, tumour_mask},
    {probabilities, outline}) for the outline head, the mask moved with its image."""
    outline = known is not None
    images, targets = tf.constant(pixels), tf.constant(labels.astype(np.int32))
    tumour_masks = tf.constant(masks if masks is not None else np.zeros((1, *pixels.shape[1:3]), np.uint8))
    is_known = tf.constant(known.astype(np.float32) if outline else np.zeros(1, np.float32))

    def mask_of(i):
        return tf.cast(tf.gather(tumour_masks, i), tf.float32)[..., None] if outline else tf.zeros((1, 1, 1))

    def one(i):
        return (tf.cast(tf.gather(images, i), tf.float32), mask_of(i),
                tf.gather(is_known, i) if outline else tf.constant(0.0), tf.gather(targets, i))

    if training and weights is not None:
        order = np.random.default_rng(seed).choice(len(labels), size=epochs * len(labels), p=weights)
        plan = pastes(order) if pastes else PastePlan(order, np.full(len(order), -1))

        def draw(i, donor, position):
            d = tf.maximum(donor, 0)

            def pasted():
                image, region = paste_tumour(tf.cast(tf.gather(images, i), tf.float32),
                                             tf.cast(tf.gather(images, d), tf.float32),
                                             tf.gather(tumour_masks, d)[..., None],
                                             tf.stack([position, tf.constant(seed + 1, tf.int64)]))
                return image, region if outline else tf.zeros((1, 1, 1)), tf.constant(1.0), tf.constant(glioma)

            return tf.cond(donor >= 0, pasted, lambda: one(i))

        ds = tf.data.Dataset.from_tensor_slices((plan.image, plan.donor, np.arange(len(order), dtype=np.int64))).map(
            draw, num_parallel_calls=tf.data.AUTOTUNE).repeat()
    else:
        ds = tf.data.Dataset.range(len(labels)).map(one, num_parallel_calls=tf.data.AUTOTUNE)
        if training:
            ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    if training:
        counter = tf.data.Dataset.counter(seed).map(lambda c: tf.stack([c, tf.constant(seed, tf.int64)]))
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda e, s: (augment_one(e[0], s, intensity, skull), *e[1:]), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if training:
        # The paper's zoom, plus small rotations and shifts, as Keras preprocessing layers; the
        # mask rides along as a second channel, so it moves exactly as its image.
        geometry = keras.Sequential([
            keras.layers.RandomZoom((-0.2, 0.3), fill_mode="constant", seed=seed),
            keras.layers.RandomRotation(0.04, fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed),
        ])
        channels = pixels.shape[-1]

        def move(x, m, k, y):
            if not outline:
                return tf.ensure_shape(geometry(x, training=True), (None, *pixels.shape[1:])), m, k, y
            both = geometry(tf.concat([x, m], axis=-1), training=True)
            return (tf.ensure_shape(both[..., :channels], (None, *pixels.shape[1:])),
                    tf.ensure_shape(both[..., channels:], (None, *pixels.shape[1:3], 1)), k, y)

        ds = ds.map(move, num_parallel_calls=tf.data.AUTOTUNE)
    if outline:
        ds = ds.map(lambda x, m, k, y: ({"image": x, "tumour_mask": m},
                                        {"probabilities": y, "outline": tf.reshape(k, [-1, 1, 1, 1])}))
    else:
        ds = ds.map(lambda x, m, k, y: (x, y))
    return ds.prefetch(tf.data.AUTOTUNE)


def get_strategy(distribute: bool):
    """tf.distribute strategy: MultiWorkerMirrored when TF_CONFIG names a cluster, else Mirrored
    over this machine's devices; the default (no-op) strategy without --distribute."""
    if not distribute:
        return tf.distribute.get_strategy()
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(devices=[d.name for d in tf.config.list_logical_devices("CPU")]
                                          + [d.name for d in tf.config.list_logical_devices("GPU")])


def configure_cpu_devices(count: int) -> None:
    """Split the CPU into `count` logical devices, to try --distribute on one machine."""
    if count > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


class TimeBudget(keras.callbacks.Callback):
    """Stop training after the epoch that passes `minutes` (None: no limit)."""

    def __init__(self, minutes: float | None):
        super().__init__()
        self.minutes = minutes

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.minutes is not None and time.monotonic() - self.start > self.minutes * 60:
            print(f"Time budget of {self.minutes} min reached after epoch {epoch + 1}; stopping.")
            self.model.stop_training = True


@keras.saving.register_keras_serializable(package="mri_training")
class TumourAwareLoss(keras.losses.Loss):
    """Cross-entropy over the output classes; for y == classes (a tumour of none of the output
    types, data.OTHER_TUMOUR_LABELS) -log(1 - p(notumor)) alone: it teaches "tumour", no type."""

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


def balanced_class_weights(y: np.ndarray, classes: int) -> dict[int, float]:
    """n / (classes * n_c) per class: each class weighs the same in the loss, so the rarest is not
    sacrificed to the commonest."""
    counts = np.bincount(y, minlength=classes)
    if (counts == 0).any():
        raise ValueError("A class has no training images; balanced class weights need every class.")
    return {i: float(len(y) / (classes * n)) for i, n in enumerate(counts)}


class Fitted(NamedTuple):
    model: keras.Model                 # the classifier: raw pixels -> probabilities, what ships
    history: dict                      # per-epoch figures, Keras's names ("loss", "val_accuracy", ...)
    seconds: float
    outline: keras.Model | None        # raw pixels -> tumour outline (training.outline), when trained


@dataclass(frozen=True)
class Pipelines:
    train: tf.data.Dataset          # augmented, drawn with replacement when weighted, repeated
    validation: tf.data.Dataset
    steps_per_epoch: int | None     # None: one pass over the training subset
    outline: bool                   # elements carry the tumour mask for the outline head


def training_pipelines(data: PreparedData, s: TrainingSettings, global_batch: int) -> Pipelines:
    """The training and validation tf.data pipelines of a run: sampling weights, copy-paste plan,
    and, with the outline head, which slices' masks are known."""
    x_train, y_train = data.subset("train")
    x_val, y_val = data.subset("validation")
    weights = None
    if s.sampling == "balanced":
        weights = sampling_weights([f"{r.source}/{r.label}"
                                    for r, s in zip(data.records, data.subsets) if s == "train"])
    no_tumor = find_no_tumor_label(data.labels)
    notumor = data.labels.index(no_tumor) if no_tumor else 0
    glioma = data.labels.index("glioma") if "glioma" in data.labels else 0
    train, validation = data.mask("train"), data.mask("validation")
    masks = data.masks[train] if data.masks is not None else None
    pastes = None
    if s.paste_share > 0 and no_tumor and "glioma" in data.labels and masks is not None:
        if weights is None:
            weights = np.full(len(y_train), 1.0 / len(y_train))
        def pastes(order):
            return plan_pastes(order, y_train, data.collections("train"), data.sequences("train"),
                               masks.sum(axis=(1, 2)), glioma, notumor, s.paste_share, s.seed)
        planned = pastes(np.arange(len(y_train)))
        print(f"Copy-paste: {int((planned.donor >= 0).sum())} of {int((y_train == glioma).sum())} glioma draws an "
              "epoch become tumours pasted into another collection's normal slice.", flush=True)
    outline = s.outline_weight > 0
    if outline and (data.masks is None or no_tumor is None):
        raise ValueError("--outline-weight needs a no-tumour class and a collection with tumour masks.")
    # A slice's outline is known where its collection has masks, and for every no-tumour slice (empty).
    known = {name: (data.has_mask[m] | (data.y[m] == notumor)) for name, m in
             (("train", train), ("validation", validation))} if outline else {}
    # At least one epoch of draws (repeated): with --epochs 0 the outline stage still needs images.
    train_ds = make_dataset(x_train, y_train, global_batch, training=True, seed=s.seed, intensity=s.intensity,
                            skull=s.skull, weights=weights, epochs=max(1, s.epochs), pastes=pastes, masks=masks,
                            glioma=glioma, known=known.get("train"))
    val_ds = make_dataset(x_val, y_val, global_batch, training=False,
                          masks=data.masks[validation] if outline else None, known=known.get("validation"))
    # Weighted sampling draws with replacement forever, so an epoch needs a length.
    steps = int(np.ceil(len(y_train) / global_batch)) if weights is not None else None
    return Pipelines(train_ds, val_ds, steps, outline)


def compiled_model(data: PreparedData, s: TrainingSettings, steps_per_epoch: int) -> tuple[keras.Model, keras.Model]:
    """(classifier, the model to fit): the same model, or the classifier with the outline head beside
    it; compiled with Adam on a cosine schedule and the tumour-aware loss (plus the outline's)."""
    no_tumor = find_no_tumor_label(data.labels)
    notumor = data.labels.index(no_tumor) if no_tumor else 0
    model = create_model(s.model, data.input_shape, len(data.labels))
    if s.init_from:
        model.set_weights(load_model(s.init_from).get_weights())
    # Cosine decay over the planned epochs: smoother than cutting the rate on a noisy
    # validation loss, and early stopping still keeps the best epoch's weights.
    schedule = keras.optimizers.schedules.CosineDecay(s.learning_rate, max(1, s.epochs * steps_per_epoch), alpha=0.02)
    classification = TumourAwareLoss(notumor, len(data.labels))
    if s.outline_weight <= 0:
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=classification, metrics=["accuracy"])
        return model, model
    fitted = outline_training_model(model)
    fitted.compile(optimizer=keras.optimizers.Adam(schedule),
                   loss={"probabilities": classification, "outline": OutlineLoss()},
                   loss_weights={"probabilities": 1.0, "outline": s.outline_weight},
                   metrics={"probabilities": ["accuracy"]})
    return model, fitted


def train_model(data: PreparedData, settings: TrainingSettings = DEFAULTS, distribute: bool = False,
                verbose: int = 1) -> Fitted:
    """Build and fit settings.model. settings.init_from starts from a saved model's weights (same
    architecture), e.g. to train a run longer on the same split; settings.paste_share of the glioma
    draws become tumours pasted into other collections' normal slices; settings.outline_weight > 0
    trains the outline head beside the classifier (training.outline)."""
    s = settings
    keras.utils.set_random_seed(s.seed)
    strategy = get_strategy(distribute)
    global_batch = s.batch_size * strategy.num_replicas_in_sync
    if distribute:
        print(f"tf.distribute: {type(strategy).__name__}, replicas: {strategy.num_replicas_in_sync}", flush=True)
    if s.outline_weight > 0 and s.class_weight == "balanced":
        raise ValueError("--class-weight balanced does not combine with --outline-weight (two outputs).")
    pipes = training_pipelines(data, s, global_batch)
    n_train = int(data.mask("train").sum())
    with strategy.scope():
        model, fitted = compiled_model(data, s, pipes.steps_per_epoch or int(np.ceil(n_train / global_batch)))
    # Epochs are chosen on the classification loss alone, with or without the outline beside it.
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_probabilities_loss" if pipes.outline else "val_loss",
                                      mode="min", patience=s.patience, restore_best_weights=True),
        TimeBudget(s.max_minutes),
    ]
    if s.backup_dir:
        callbacks.append(keras.callbacks.BackupAndRestore(s.backup_dir, save_freq="epoch", delete_checkpoint=True))
    class_weights = None
    if s.class_weight == "balanced":
        class_weights = balanced_class_weights(data.subset("train")[1], len(data.labels))
        print("Class weights: " + ", ".join(f"{data.labels[i]} {w:.2f}" for i, w in class_weights.items()), flush=True)
    start = time.monotonic()
    figures = {}
    if s.epochs > 0:
        history = fitted.fit(pipes.train, validation_data=pipes.validation, epochs=s.epochs, callbacks=callbacks,
                             verbose=verbose, class_weight=class_weights, steps_per_epoch=pipes.steps_per_epoch)
        figures = {_classifier_name(k, pipes.outline): [float(v) for v in vals] for k, vals in history.history.items()}
    if pipes.outline and s.outline_epochs > 0:
        with strategy.scope():
            outline_history = fit_outline_alone(model, fitted, pipes.train, pipes.validation, s, verbose,
                                                steps_per_epoch=pipes.steps_per_epoch,
                                                callbacks=[TimeBudget(s.max_minutes)])
        figures.update({f"outline_stage_{k}": [float(v) for v in vals] for k, vals in outline_history.items()})
    seconds = time.monotonic() - start
    return Fitted(model, figures, seconds, outline_model(fitted) if pipes.outline else None)


def _classifier_name(key: str, outline: bool) -> str:
    """Keras names a two-output run's figures by output ("val_probabilities_loss"); the classifier's
    keep the one-output names ("val_loss"), the sum of both losses becomes "..._total_loss"."""
    if not outline:
        return key
    if key in ("loss", "val_loss"):
        return key.replace("loss", "total_loss")
    return key.replace("probabilities_", "")
