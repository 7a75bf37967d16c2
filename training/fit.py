"""Fit: a registered model (training.models) fitted on the run's tf.data pipelines
(training.pipelines) under a tf.distribute strategy, then, with the outline head, the head alone.
"""
from __future__ import annotations

import os
import time
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from training.data import PreparedData
from training.models import compiled_model
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
    start = time.monotonic()
    figures = {}
    if s.epochs > 0:
        history = fitted.fit(pipes.train, validation_data=pipes.validation, epochs=s.epochs, callbacks=callbacks,
                             verbose=verbose, class_weight=class_weights, steps_per_epoch=pipes.steps_per_epoch)
        figures = {classifier_figure_name(k, outline): [float(v) for v in vals] for k, vals in history.history.items()}
    if outline and s.outline_epochs > 0:
        with strategy.scope():
            outline_history = fit_outline_alone(model, fitted, pipes.train, pipes.validation, s, verbose,
                                                steps_per_epoch=pipes.steps_per_epoch, callbacks=[outline_budget])
        figures.update({f"outline_stage_{k}": [float(v) for v in vals] for k, vals in outline_history.items()})
    seconds = time.monotonic() - start
    return Fitted(model, figures, seconds, outline_model(fitted) if outline else None)
