"""Train one registered model on folders of class folders and save model.h5 + metadata.json.

    python -m training.train --data ../shared/data/brain-mri-4class --model compact --out runs/compact

Reads top to bottom like the workflow: data (decode once, group near-duplicates, split by group),
augmentation (training subset only, never inside the saved model), model, fit, save.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Defaults, each a flag below.
IMAGE_SIZE = 128          # pixels a side; the page and the server resize to this too
CHANNELS = 1              # grayscale: MRI slices carry no colour, and it is 3x less work
BATCH_SIZE = 32
EPOCHS = 30               # an upper bound: early stopping on validation loss ends most runs sooner
LEARNING_RATE = 2e-3
PATIENCE = 10             # epochs without a better validation loss before stopping (it is noisy
                          # under augmentation and batch norm: 6 stopped a 50-epoch run at epoch 16)
SEED = 42
CACHE_DIR = ".cache/images"
INTENSITY = "stacked"     # intensity augmentation (training.augment): the sequence's look must not
                          # stand in for the tumour
SKULL = True              # skull/background augmentation: nor must "skull-stripped or not"
SAMPLING = "balanced"     # each collection x class drawn by sqrt(its size) (training.data.sampling_weights)
# Folder names that mean "no tumour", in the order they are looked for.
NO_TUMOR_NAMES = ("notumor", "no_tumor", "no-tumor", "no", "normal", "healthy")


@dataclass
class PreparedData:
    pixels: np.ndarray        # float16 [n, h, w, c], raw 0-255
    y: np.ndarray             # int label index per image
    records: list             # training.data.Record per image
    labels: list[str]
    groups: np.ndarray
    subsets: list[str]
    data_dirs: list[str]
    thumbnails: np.ndarray    # 32x32 grayscale per image, for near-duplicate checks

    def mask(self, name: str) -> np.ndarray:
        """True for each image of one subset (train, validation or test)."""
        return np.array([s == name for s in self.subsets])

    def subset(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        mask = self.mask(name)
        return self.pixels[mask], self.y[mask]

    def collections(self, name: str) -> list[str]:
        """The source collection of each image of a subset, in subset() order."""
        return [r.source for r, s in zip(self.records, self.subsets) if s == name]

    def sequences(self, name: str) -> list[str]:
        """The MRI sequence of each image of a subset (flair, t1, t1ce, t2 or unknown)."""
        from training.data import sequence_of

        return [sequence_of(r) for r, s in zip(self.records, self.subsets) if s == name]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.pixels.shape[1:])


def find_no_tumor_label(labels: list[str]) -> str | None:
    lowered = {label.lower(): label for label in labels}
    return next((lowered[name] for name in NO_TUMOR_NAMES if name in lowered), None)


def prepare_data(data_dirs: list[str], image_size: int = IMAGE_SIZE, channels: int = CHANNELS,
                 seed: int = SEED, cache_dir: str | None = CACHE_DIR, labels: list[str] | None = None) -> PreparedData:
    """Decode, group and split the folders. `labels` fixes the output classes when some of them
    have no images here (a leave-one-collection-out fold without the only meningioma collection)."""
    from training.data import group_near_duplicates, labels_of, load_images, scan_folders, split_by_groups

    records = scan_folders(data_dirs)
    if labels is None:
        labels = labels_of(records)
    elif missing := sorted(set(labels_of(records)) - set(labels)):
        raise ValueError(f"The folders hold classes {missing} that are not among the labels {labels}.")
    pixels, thumbnails, md5s, kept = load_images(records, image_size, image_size, channels, cache_dir)
    groups = group_near_duplicates(kept, thumbnails, md5s)
    subsets = split_by_groups(kept, groups, seed)
    y = np.array([labels.index(r.label) for r in kept])
    for name in ("train", "validation", "test"):
        if name not in subsets:
            raise ValueError(f"The {name} subset is empty: {len(set(groups))} near-duplicate groups are too "
                             "few to split; add images.")
    return PreparedData(pixels, y, kept, labels, groups, subsets, [str(d) for d in data_dirs], thumbnails)


def get_strategy(distribute: bool):
    """tf.distribute strategy: MultiWorkerMirrored when TF_CONFIG names a cluster, else Mirrored
    over this machine's devices; the default (no-op) strategy without --distribute."""
    import tensorflow as tf

    if not distribute:
        return tf.distribute.get_strategy()
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(devices=[d.name for d in tf.config.list_logical_devices("CPU")]
                                          + [d.name for d in tf.config.list_logical_devices("GPU")])


class TimeBudget:
    """Keras callback factory: stop training once `minutes` have passed (None: no limit)."""

    def __new__(cls, minutes: float | None):
        import keras

        class _Budget(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.monotonic()

            def on_epoch_end(self, epoch, logs=None):
                if minutes is not None and time.monotonic() - self.start > minutes * 60:
                    print(f"Time budget of {minutes} min reached after epoch {epoch + 1}; stopping.")
                    self.model.stop_training = True

        return _Budget()


def train_model(model_name: str, data: PreparedData, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE,
                learning_rate: float = LEARNING_RATE, seed: int = SEED, max_minutes: float | None = None,
                distribute: bool = False, verbose: int = 1, patience: int = PATIENCE,
                class_weight: str = "none", intensity: str = INTENSITY, skull: bool = SKULL,
                sampling: str = SAMPLING):
    """Build and fit a registered model; returns (model, history dict, seconds)."""
    import keras

    from training.data import make_dataset, sampling_weights
    from training.models import create_model

    keras.utils.set_random_seed(seed)
    strategy = get_strategy(distribute)
    global_batch = batch_size * strategy.num_replicas_in_sync
    if distribute:
        print(f"tf.distribute: {type(strategy).__name__}, replicas: {strategy.num_replicas_in_sync}", flush=True)
    x_train, y_train = data.subset("train")
    x_val, y_val = data.subset("validation")
    weights = None
    if sampling == "balanced":
        train_records = [r for r, s in zip(data.records, data.subsets) if s == "train"]
        weights = sampling_weights([f"{r.source}/{r.label}" for r in train_records])
    train_ds = make_dataset(x_train, y_train, global_batch, training=True, seed=seed, intensity=intensity,
                            skull=skull, weights=weights, epochs=epochs)
    val_ds = make_dataset(x_val, y_val, global_batch, training=False)
    with strategy.scope():
        model = create_model(model_name, data.input_shape, len(data.labels))
        # Cosine decay over the planned epochs: smoother than cutting the rate on a noisy
        # validation loss, and early stopping still keeps the best epoch's weights.
        steps = epochs * int(np.ceil(len(y_train) / global_batch))
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
        model.compile(optimizer=keras.optimizers.Adam(schedule),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        TimeBudget(max_minutes),
    ]
    class_weights = balanced_class_weights(y_train, len(data.labels)) if class_weight == "balanced" else None
    if class_weights:
        print("Class weights: " + ", ".join(f"{data.labels[i]} {w:.2f}" for i, w in class_weights.items()), flush=True)
    start = time.monotonic()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks, verbose=verbose,
                        class_weight=class_weights,
                        steps_per_epoch=int(np.ceil(len(y_train) / global_batch)) if weights is not None else None)
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}, time.monotonic() - start


def balanced_class_weights(y: np.ndarray, classes: int) -> dict[int, float]:
    """n / (classes * n_c) per class: each class weighs the same in the loss, so the rarest
    (meningioma: 919 training images against 2,436 normals) is not sacrificed to the commonest."""
    counts = np.bincount(y, minlength=classes)
    if (counts == 0).any():
        raise ValueError("A class has no training images; balanced class weights need every class.")
    return {i: float(len(y) / (classes * n)) for i, n in enumerate(counts)}


def predict_probabilities(model, pixels: np.ndarray, batch_size: int = 128) -> np.ndarray:
    return model.predict(pixels.astype(np.float32), batch_size=batch_size, verbose=0)


def plot_curves(history: dict, path: str | Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(history[key], label="train (augmented)")
        ax.plot(history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def library_versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


def build_metadata(model_name: str, data: PreparedData, history: dict, seconds: float, args: dict,
                   metrics: dict | None = None) -> dict:
    from collections import Counter

    from training.augment import describe
    from training.data import NEAR_DUPLICATE_CORRELATION, summarize_split

    h, w, c = data.input_shape
    return {
        "labels": data.labels,
        "no_tumor_label": find_no_tumor_label(data.labels),
        "input": {"height": h, "width": w, "channels": c, "dtype": "float32", "range": [0, 255],
                  "resize": "bilinear, half-pixel centres, no antialias",
                  "grayscale": "0.299 R + 0.587 G + 0.114 B" if c == 1 else None},
        "architecture": model_name,
        "metrics": metrics or {},
        "training": {
            "data": data.data_dirs,
            "class_counts": dict(sorted(Counter(r.label for r in data.records).items())),
            "split": summarize_split(data.records, data.subsets),
            "split_rule": f"stratified by collection and label, by near-duplicate group (thumbnail "
                          f"correlation >= {NEAR_DUPLICATE_CORRELATION}, exact MD5, same patient); "
                          "BraTS patients from TCGA-LGG in training only",
            "groups": int(len(set(data.groups.tolist()))),
            "seed": args.get("seed"),
            "epochs_run": len(history.get("loss", [])),
            "settings": args,
            "seconds": round(seconds, 1),
            "augmentation": describe(args.get("intensity", INTENSITY), args.get("skull", SKULL)),
            "sampling": args.get("sampling", SAMPLING),
            "versions": library_versions(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    }


def save_run(model, history: dict, data: PreparedData, out_dir: str | Path, name: str) -> None:
    """model.h5, curves.png and split.csv into out_dir; metadata.json is written once the run is
    evaluated (training.compare.save_and_evaluate)."""
    from training.data import write_split_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # No optimizer state: the shipped file is for inference, a third of the size.
    model.save(out / "model.h5", include_optimizer=False)
    write_split_csv(out / "split.csv", data.records, data.groups, data.subsets)
    if history.get("loss"):
        plot_curves(history, out / "curves.png", f"{name} on {', '.join(map(str, data.data_dirs))}")


def parse_args(argv=None):
    from training.models import list_models

    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR",
                        help="one or more folders of class folders (folder name = label); several are merged by class name")
    parser.add_argument("--model", default="compact", choices=list_models(), help="registered model to train (default: compact)")
    parser.add_argument("--out", required=True, help="folder for model.h5, metadata.json, curves.png, split.csv")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"maximum epochs; early stopping usually ends sooner (default {EPOCHS})")
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE, help=f"model input height and width in pixels (default {IMAGE_SIZE})")
    parser.add_argument("--channels", type=int, default=CHANNELS, choices=(1, 3), help=f"1 = grayscale, 3 = RGB (default {CHANNELS})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"images per step and replica (default {BATCH_SIZE})")
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help=f"Adam learning rate (default {LEARNING_RATE})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed for the split, initial weights and augmentation (default {SEED})")
    parser.add_argument("--patience", type=int, default=PATIENCE,
                        help=f"stop after this many epochs without a better validation loss (default {PATIENCE})")
    parser.add_argument("--class-weight", default="none", choices=("none", "balanced"),
                        help="'balanced' weighs each class's loss by n / (classes * n_class) (default none)")
    parser.add_argument("--intensity", default=INTENSITY, choices=("curve", "stacked"),
                        help="intensity augmentation: 'curve' = one random curve on half the images; 'stacked' = "
                             "random curve or per-tissue intensities, contrast inversion and bias field, stacked "
                             f"(default {INTENSITY})")
    parser.add_argument("--skull", action=argparse.BooleanOptionalAction, default=SKULL,
                        help="skull and background augmentation: strip the skull, draw one, lift the background "
                             f"(default {'on' if SKULL else 'off'})")
    parser.add_argument("--sampling", default=SAMPLING, choices=("natural", "balanced"),
                        help="'balanced' draws training images so each collection x class has a share of "
                             f"sqrt(its size); 'natural' shuffles (default {SAMPLING})")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this many minutes")
    parser.add_argument("--cache-dir", default=CACHE_DIR, help=f"where decoded images are cached; '' to disable (default {CACHE_DIR})")
    parser.add_argument("--external", nargs="*", default=[], metavar="DIR",
                        help="folders of collections absent from --data: tumour sensitivity/specificity on unseen sources")
    parser.add_argument("--report", default=None, help="also write a Markdown report (and JSON beside it) here")
    parser.add_argument("--ship", default=None, metavar="DIR", help="copy model.h5 and metadata.json here (e.g. frontend/model)")
    parser.add_argument("--distribute", action="store_true",
                        help="train under tf.distribute: MultiWorkerMirroredStrategy when TF_CONFIG is set, else MirroredStrategy on this machine")
    parser.add_argument("--cpu-devices", type=int, default=0,
                        help="split the CPU into this many logical devices (to try --distribute on one machine)")
    return parser.parse_args(argv)


def configure_cpu_devices(count: int) -> None:
    if count > 1:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def main(argv=None) -> int:
    args = parse_args(argv)
    configure_cpu_devices(args.cpu_devices)
    data = prepare_data(args.data, args.image_size, args.channels, args.seed, args.cache_dir or None)
    model, history, seconds = train_model(args.model, data, args.epochs, args.batch_size, args.learning_rate,
                                          args.seed, args.max_minutes, args.distribute, patience=args.patience,
                                          class_weight=args.class_weight, intensity=args.intensity,
                                          skull=args.skull, sampling=args.sampling)
    from training.compare import save_and_evaluate, ship_run, write_report

    out = Path(args.out)
    report = Path(args.report) if args.report else None
    settings = {k: v for k, v in vars(args).items() if k not in ("data", "out", "external", "report", "ship")}
    result = save_and_evaluate(args.model, model, data, history, seconds, settings, out, args.external,
                               args.cache_dir or None, report)
    if report:
        figures = report.parent / report.stem
        shutil.copy(out / "split.csv", figures / "split.csv")
        write_report([result], result, data, args, seconds, report, figures, "training.train")
        report.with_suffix(".json").write_text(json.dumps({"results": [result]}, indent=2) + "\n")
    if args.ship:
        ship_run(out, Path(args.ship))
    print(f"Saved {out}/model.h5; test accuracy {result['test']['accuracy']:.4f}, "
          f"macro-F1 {result['test']['macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
