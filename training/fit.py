"""Fit: a registered model (training.models) fitted on the run's tf.data pipelines
(training.pipelines) under a tf.distribute strategy, then, with the outline head, the head alone;
with --average-from, the mean of the last epochs' weights.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from training.data import PreparedData
from training.models import compiled_model, without_mix_style
from training.outline import classifier_figure_name, fit_outline_alone, outline_model
from training.pipelines import training_pipelines
from training.settings import DEFAULTS, TrainingSettings


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


class WeightAverage(keras.callbacks.Callback):
    """The mean of the weights at the end of every epoch after `start` (stochastic weight averaging,
    Izmailov et al. 2018: a flatter minimum, which tends to hold up better on unseen data). At the
    end the model takes the mean and `last` keeps `classifier`'s weights before it (after early
    stopping restored its best epoch). The mean is saved in `folder` after every epoch, so a
    resumed run (--backup-dir) keeps it."""

    def __init__(self, start: int, classifier: keras.Model, folder: str | None):
        super().__init__()
        self.start, self.classifier = start, classifier
        self.path = Path(folder) / "weight_average.npz" if folder else None
        self.mean, self.count, self.epoch, self.last = None, 0, -1, None

    def on_train_begin(self, logs=None):
        if self.path and self.path.is_file():
            saved = np.load(self.path)
            self.count, self.epoch = int(saved["count"]), int(saved["epoch"])
            self.mean = [saved[f"w{i}"] for i in range(len(saved.files) - 2)]

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start or epoch <= self.epoch:   # before the window, or averaged before a resume
            return
        weights = self.model.get_weights()
        self.count, self.epoch = self.count + 1, epoch
        self.mean = weights if self.mean is None else [m + (w - m) / self.count for m, w in zip(self.mean, weights)]
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, count=self.count, epoch=self.epoch, **{f"w{i}": m for i, m in enumerate(self.mean)})

    def on_train_end(self, logs=None):
        if self.mean is not None:
            self.last = self.classifier.get_weights()
            self.model.set_weights(self.mean)
            print(f"Weights averaged over {self.count} epochs.", flush=True)


def refresh_batch_norm(model: keras.Model, images: list, skip=()) -> None:
    """Measure every batch-norm layer's statistics (but those in `skip`) again on batches of training
    `images`, layer after layer, each on its inputs as the layers before it now normalise them:
    averaged weights need their own."""
    for layer in [x for x in model.layers if isinstance(x, keras.layers.BatchNormalization) and x not in skip]:
        probe = keras.Model(model.inputs, layer.input)
        features = tf.concat([tf.reshape(probe(x, training=False), [-1, layer.input.shape[-1]]) for x in images], 0)
        mean, variance = tf.nn.moments(features, axes=[0])
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(variance)


def balanced_class_weights(y: np.ndarray, classes: int) -> dict[int, float]:
    """n / (classes * n_c) per class: each class weighs the same in the loss, so the rarest is not
    sacrificed to the commonest. A tumour of another type (label `classes`, no output of its own)
    keeps weight 1."""
    typed = y[y < classes]
    counts = np.bincount(typed, minlength=classes)
    if (counts == 0).any():
        raise ValueError("A class has no training images; balanced class weights need every class.")
    weights = {i: float(len(typed) / (classes * n)) for i, n in enumerate(counts)}
    return weights | ({classes: 1.0} if (y >= classes).any() else {})


class Fitted(NamedTuple):
    model: keras.Model                 # the classifier: raw pixels -> probabilities, what ships
    history: dict                      # per-epoch figures, Keras's names ("loss", "val_accuracy", ...)
    seconds: float
    outline: keras.Model | None        # raw pixels -> tumour outline (training.outline), when trained
    unaveraged: keras.Model | None = None   # with --average-from: the classifier before averaging


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
    outline = s.outline_weight > 0
    if outline and s.class_weight == "balanced":
        raise ValueError("--class-weight balanced does not combine with --outline-weight (two outputs).")
    # Epochs are chosen on the classification loss alone, with or without the outline beside it.
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_probabilities_loss" if outline else "val_loss",
                                      mode="min", patience=s.patience, restore_best_weights=True),
        TimeBudget(s.max_minutes),
    ]
    if s.backup_dir:
        callbacks.append(keras.callbacks.BackupAndRestore(s.backup_dir, save_freq="epoch", delete_checkpoint=True))
    outline_budget = TimeBudget(s.max_minutes)
    y_train = data.y[data.subsets == "train"]
    class_weights = balanced_class_weights(y_train, len(data.labels)) if s.class_weight == "balanced" else None
    pipes = training_pipelines(data, s, global_batch)
    if class_weights:
        print("Class weights: " + ", ".join(f"{data.labels[i]} {w:.2f}" for i, w in class_weights.items()), flush=True)
    with strategy.scope():
        model, fitted = compiled_model(data, s, pipes.steps_per_epoch or int(np.ceil(len(y_train) / global_batch)))
    average = WeightAverage(int(s.epochs * s.average_from), model, s.backup_dir) if s.average_from > 0 else None
    if average:
        callbacks.append(average)   # after early stopping: its best epoch is what the mean is compared with
    start = time.monotonic()
    figures = {}
    if s.epochs > 0:
        history = fitted.fit(pipes.train, validation_data=pipes.validation, epochs=s.epochs, callbacks=callbacks,
                             verbose=verbose, class_weight=class_weights, steps_per_epoch=pipes.steps_per_epoch)
        figures = {classifier_figure_name(k, outline): [float(v) for v in vals] for k, vals in history.history.items()}
    unaveraged = None
    if average and average.last is not None:
        batches = iter(pipes.train)
        images = [next(batches)[0] for _ in range(24)]
        refresh_batch_norm(model, images)
        if outline:
            refresh_batch_norm(outline_model(fitted), images, skip=model.layers)
        unaveraged = keras.models.clone_model(model)
        unaveraged.set_weights(average.last)
    if outline and s.outline_epochs > 0:
        with strategy.scope():
            outline_history = fit_outline_alone(model, fitted, pipes.train, pipes.validation, s, verbose,
                                                steps_per_epoch=pipes.steps_per_epoch, callbacks=[outline_budget])
        figures.update({f"outline_stage_{k}": [float(v) for v in vals] for k, vals in outline_history.items()})
    seconds = time.monotonic() - start
    if s.mix_style > 0:
        model, unaveraged = (without_mix_style(m, s.model) if m is not None else None for m in (model, unaveraged))
    return Fitted(model, figures, seconds, outline_model(fitted) if outline else None, unaveraged)
