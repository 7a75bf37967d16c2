"""Images to check a converted model on: a folder of class folders, or training's split.csv.

Both give (path, label) pairs; the label may be None (a flat folder, or a class the model does not
know), in which case the image still counts for agreement but not for accuracy.
"""
from __future__ import annotations

import argparse
import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convert import ConversionError

REPO = Path(__file__).resolve().parents[1]
# The data sets sit beside the checkout in ../shared/data (MRI_DATA_DIR overrides it, as for the
# tests); used when no images are named.
DEFAULT_IMAGES = Path(os.environ.get("MRI_DATA_DIR", REPO.parent / "shared" / "data")) / "brain-mri-4class"
# The shipping bar: identical top-1 on 200 real images.
DEFAULT_LIMIT = 200
SAMPLE_SEED = 0


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: str | None


def add_sample_arguments(parser: argparse.ArgumentParser, default_limit: int | None) -> None:
    group = parser.add_argument_group("images to check the converted model on")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--images", type=Path, default=None,
                        help="a folder of class folders (the folder name is the label) or of images; "
                             f"default: {DEFAULT_IMAGES} when it exists, else synthetic inputs only")
    source.add_argument("--split", type=Path, default=None,
                        help="training's split.csv (columns path,label,group,subset); relative paths "
                             "are read from the CSV's folder, then from the current one")
    group.add_argument("--subset", default="test",
                       help="which subset of --split to use (default: %(default)s)")
    group.add_argument("--limit", type=_count, default=default_limit,
                       help="at most this many images, drawn with a fixed seed (default: "
                            f"{default_limit or 'all'}; 0 means synthetic inputs only)")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def images_from_args(args: argparse.Namespace) -> tuple[list[LabelledImage], str]:
    """The chosen images and a short description of where they came from."""
    if args.limit == 0:
        return [], "none (--limit 0)"
    if args.split is not None:
        images, source = images_from_split(args.split, args.subset), f"{args.split} (subset {args.subset})"
    elif args.images is not None:
        images, source = images_from_folder(args.images), str(args.images)
    elif DEFAULT_IMAGES.is_dir():
        images, source = images_from_folder(DEFAULT_IMAGES), DEFAULT_IMAGES.name
    else:
        return [], "none (no --images or --split, and the shared data is absent)"
    return choose(images, args.limit), source


def images_from_folder(root: Path) -> list[LabelledImage]:
    root = Path(root)
    if not root.is_dir():
        raise ConversionError(f"{root} is not a folder; pass a folder of class folders with --images.")
    images = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            images += [LabelledImage(f, entry.name) for f in sorted(entry.iterdir())
                       if f.is_file() and not f.name.startswith(".")]
        elif entry.is_file():
            images.append(LabelledImage(entry, None))
    if not images:
        raise ConversionError(f"{root} holds no images; pass a folder of class folders with --images.")
    return images


def images_from_split(csv_path: Path, subset: str) -> list[LabelledImage]:
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ConversionError(f"{csv_path} does not exist; pass the split.csv that training wrote.")
    with csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"path", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ConversionError(
                f"{csv_path} has no column {', '.join(sorted(missing))}; expected path,label,group,subset.")
        rows = [row for row in reader if "subset" not in row or row["subset"] == subset]
    if not rows:
        raise ConversionError(f"{csv_path} has no rows in subset {subset!r}; choose another with --subset.")
    return [LabelledImage(_resolve(row["path"], csv_path), row["label"] or None) for row in rows]


def choose(images: list[LabelledImage], limit: int | None) -> list[LabelledImage]:
    """A seeded random sample of `limit` images (all of them when limit is None)."""
    if limit is None or limit >= len(images):
        return list(images)
    order = np.random.default_rng(SAMPLE_SEED).permutation(len(images))[:limit]
    return [images[i] for i in sorted(order)]


def _resolve(path: str, csv_path: Path) -> Path:
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    beside_csv = csv_path.parent / candidate
    return beside_csv if beside_csv.exists() else Path.cwd() / candidate


def shown(path: Path) -> str:
    """A path relative to the repository when it lies inside it, for reports that read the same anywhere."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)
