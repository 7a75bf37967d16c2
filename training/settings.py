"""How a model is trained: the defaults, each documented once, in one settings object
(`TrainingSettings`) and one set of flags that every training command shares
(`add_training_flags`). Light to import, so that `--help` answers without starting TensorFlow."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

IMAGE_SIZE = 128          # pixels a side; the page and the server resize to this too
CHANNELS = 1              # grayscale: MRI slices carry no colour, and it is 3x less work
SEED = 42
CACHE_DIR = ".cache/images"
INTENSITY_MODES = ("curve", "stacked")
SAMPLING_MODES = ("natural", "balanced")
LOCO_EPOCHS = 12          # per leave-one-collection-out fold


@dataclass(frozen=True)
class TrainingSettings:
    model: str = "compact"            # a name training.models registers
    epochs: int = 30                  # an upper bound: early stopping on validation loss ends most runs sooner
    image_size: int = IMAGE_SIZE
    channels: int = CHANNELS
    batch_size: int = 32
    learning_rate: float = 2e-3
    seed: int = SEED                  # the split, the initial weights and the augmentation
    patience: int = 10                # epochs without a better validation loss; it is noisy under augmentation
    class_weight: str = "none"
    intensity: str = "stacked"        # training.augment: the sequence's look must not stand in for the tumour
    skull: bool = True                # skull/background augmentation: nor must "skull-stripped or not"
    sampling: str = "balanced"        # each collection x class drawn by sqrt(its size)
    paste_share: float = 0.0          # off: every run that measured pasting lost (docs/log.md)
    outline_weight: float = 0.0       # the outline head's loss beside the classifier's (training.outline); 0 = none
    outline_epochs: int = 0           # then the decoder alone on the frozen classifier, keeping its own best epoch
    max_minutes: float | None = None
    backup_dir: str | None = None     # keras BackupAndRestore: a killed run resumes from its last finished epoch
    init_from: str | None = None
    split_from: str | None = None
    cache_dir: str = CACHE_DIR


DEFAULTS = TrainingSettings()

HELP = {
    "model": "a model training/models.py registers; an unknown name is refused with the list (default %(default)s)",
    "epochs": "maximum epochs; early stopping usually ends sooner (default %(default)s)",
    "image_size": "model input height and width in pixels (default %(default)s)",
    "channels": "1 = grayscale, 3 = RGB (default %(default)s)",
    "batch_size": "images per step and replica (default %(default)s)",
    "learning_rate": "Adam learning rate, cosine-decayed over the epochs (default %(default)s)",
    "seed": "seed for the split, initial weights and augmentation (default %(default)s)",
    "patience": "stop after this many epochs without a better validation loss (default %(default)s)",
    "class_weight": "'balanced' weighs each class's loss by n / (classes * n_class) (default %(default)s)",
    "intensity": "intensity augmentation: 'curve' = one random curve on half the images; 'stacked' = random "
                 "curve or per-tissue intensities, contrast inversion and bias field (default %(default)s)",
    "skull": "skull and background augmentation: strip the skull, draw one, lift the background (default on)",
    "sampling": "'balanced' draws training images so each collection x class has a share of sqrt(its size); "
                "'natural' shuffles (default %(default)s)",
    "paste_share": "share of glioma draws replaced by a masked tumour pasted into another collection's normal "
                   "slice of the same sequence; 0 turns it off (default %(default)s)",
    "outline_weight": "train a tumour-outline head beside the classifier on slices whose mask is known, its loss "
                      "weighted by this; 0 turns it off (default %(default)s)",
    "outline_epochs": "after the classifier's epochs, train the outline head alone this many more epochs on the "
                      "frozen classifier, keeping the epoch with the best validation outline loss; with --epochs 0 "
                      "and --init-from it outlines a trained classifier without changing it (default %(default)s)",
    "max_minutes": "stop after the epoch that passes this many minutes",
    "backup_dir": "save the model and optimizer here after every epoch and, when a run is started again with the "
                  "same folder, resume from the last finished epoch (the folder is deleted when the run ends)",
    "init_from": "start from this saved model's weights (same --model and input) instead of random ones",
    "split_from": "keep an earlier run's subsets (its split.csv) for the images it lists and split only new ones, "
                  "e.g. to add collections to a model trained before (with --init-from)",
    "cache_dir": "where decoded images are cached; '' to disable (default %(default)s)",
}
CHOICES = {"channels": (1, 3), "class_weight": ("none", "balanced"), "intensity": INTENSITY_MODES,
           "sampling": SAMPLING_MODES}
TYPES = {"max_minutes": float}


def add_training_flags(parser: argparse.ArgumentParser, skip: tuple[str, ...] = (), **defaults) -> None:
    """One flag per TrainingSettings field (`--image-size` for image_size), with `defaults` overriding
    the dataclass's where a command trains differently (leave-one-collection-out folds: fewer epochs)."""
    group = parser.add_argument_group("training settings (every training command)")
    for field in fields(TrainingSettings):
        if field.name in skip:
            continue
        flag, default = "--" + field.name.replace("_", "-"), defaults.get(field.name, getattr(DEFAULTS, field.name))
        if field.type == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=HELP[field.name])
            continue
        kind = TYPES.get(field.name) or (type(default) if default is not None else str)
        group.add_argument(flag, type=kind, default=default, choices=CHOICES.get(field.name), help=HELP[field.name])


def settings_from(args: argparse.Namespace, **changes) -> TrainingSettings:
    """The settings a command's parsed flags give (fields it has no flag for keep their defaults)."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainingSettings) if hasattr(args, f.name)}
    return TrainingSettings(**{**values, **changes})
