"""Folders of class folders: one Record per image file (the folder names are the labels), each
image decoded once into a cache (pixels and a thumbnail), and each image's expert tumour mask.
"""
from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mri.images import ImageDecodeError, decode_image, resize_bilinear, to_grayscale, to_model_input
from training.settings import CACHE_DIR

# The MRI sequence, where a file or its collection names it: a token in the file name
# (BraTS `_t1ce_`, OpenNeuro `_T1w_`), else the last word of the collection's folder name
# (`brain-mri-lgg-flair`); anything else is "unknown".
SEQUENCES = ("flair", "t1", "t1ce", "t2", "pd")
SEQUENCE_IN_NAME = re.compile(r"_(flair|t1ce|t1|t2|pd)(?:w)?(?=_)", re.IGNORECASE)
SEQUENCE_IN_COLLECTION = re.compile(r"[-_](flair|t1ce|t1|t2)$", re.IGNORECASE)
# Class folders of tumours that are none of the model's types: no output of their own; they train
# "tumour or not" only (training.models.TumourAwareLoss) and count as tumours in every figure.
OTHER_TUMOUR_LABELS = frozenset({"metastasis"})
# A collection's expert tumour masks sit beside it: <collection>-masks/<image name>.png, same size.
MASK_FOLDER_SUFFIX = "-masks"
THUMBNAIL_SIZE = 32   # pixels a side of the thumbnails the near-duplicate search compares (training.split)


@dataclass(frozen=True)
class Record:
    path: str      # as given (absolute or relative to the working directory)
    label: str     # the class folder's name
    source: str    # the data folder's name, e.g. brain-mri-4class


class DataError(ValueError):
    """A data folder that cannot be used as it is; the message says what to change."""


def sequence_of(record: Record) -> str:
    """flair, t1, t1ce, t2 or unknown (see SEQUENCES)."""
    match = SEQUENCE_IN_NAME.search(Path(record.path).name) or SEQUENCE_IN_COLLECTION.search(record.source)
    return match.group(1).lower() if match else "unknown"


def scan_folders(data_dirs: list[str | os.PathLike], min_classes: int = 2) -> list[Record]:
    """All files of every class folder of every data folder, merged by class name. Training needs
    two classes; judging a normal-only collection (`min_classes=1`) needs one."""
    records: list[Record] = []
    for data_dir in map(Path, data_dirs):
        if not data_dir.is_dir():
            raise DataError(f"{data_dir} is not a folder; pass a folder of class folders.")
        class_dirs = sorted(d for d in data_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not class_dirs:
            raise DataError(f"{data_dir} has no class folders; put each class's images in a folder named for it.")
        for class_dir in class_dirs:
            files = sorted(f for f in class_dir.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not files:
                raise DataError(f"Class folder {class_dir} is empty; add images or remove the folder.")
            records += [Record(str(f), class_dir.name, data_dir.name) for f in files]
    labels = sorted({r.label for r in records})
    if len(labels) < min_classes:
        raise DataError(f"Found only the class {labels}; a classifier needs two or more class folders.")
    return records


def labels_of(records: list[Record]) -> list[str]:
    """The model's output classes: every class folder's name but the other-type tumours'."""
    return sorted({r.label for r in records} - OTHER_TUMOUR_LABELS)


def mask_path(record: Record) -> Path | None:
    """The expert tumour mask of an image, where its collection has a -masks folder."""
    image = Path(record.path)
    folder = image.parents[1].with_name(image.parents[1].name + MASK_FOLDER_SUFFIX)
    path = folder / f"{image.stem}.png"
    return path if path.is_file() else None


def read_mask(path: str | os.PathLike, height: int, width: int) -> np.ndarray:
    """A mask resized as its image is (bilinear), then 1 where at least half tumour: uint8 [h, w]."""
    binary = (np.asarray(Image.open(path).convert("L")) > 0).astype(np.float32)[..., None] * 255.0
    return (resize_bilinear(binary, height, width)[..., 0] >= 127.5).astype(np.uint8)


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    """32x32 grayscale thumbnail (box filter) for near-duplicate search."""
    gray = Image.fromarray(to_grayscale(rgb)[..., 0].clip(0, 255).astype(np.uint8))
    return np.asarray(gray.resize((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BOX), dtype=np.float16)


def _decode_one(record: Record, height: int, width: int, channels: int):
    data = Path(record.path).read_bytes()
    rgb = decode_image(data, record.path)
    return (to_model_input(rgb, height, width, channels), _thumbnail(rgb),
            hashlib.md5(data).hexdigest())


def _cache_key(records: list[Record], height: int, width: int, channels: int) -> str:
    digest = hashlib.sha256(f"v2 {height}x{width}x{channels}".encode())
    for r in records:
        stat = os.stat(r.path)
        digest.update(f"{r.path}|{r.label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def load_images(records: list[Record], height: int, width: int, channels: int,
                cache_dir: str | os.PathLike | None = CACHE_DIR, workers: int = 2):
    """Decode and resize every image once (cached on disk): -> (pixels float16, thumbnails, md5s, kept records).

    A file that cannot be read is named and skipped, never fatal; the count is printed at the end.
    Pixels are stored as float16 (exact to 1/8 of a grey level at 255) to halve memory. The cache
    holds one file per collection, so any combination of collections (leave-one-out) reuses it.
    """
    parts = []
    for source in dict.fromkeys(r.source for r in records):
        parts.append(_load_collection([r for r in records if r.source == source], height, width, channels,
                                      cache_dir, workers))
    kept = [r for part in parts for r in part[3]]
    if not kept:
        raise DataError("No readable images were found; check the data folders.")
    return (np.concatenate([p[0] for p in parts if len(p[3])]), np.concatenate([p[1] for p in parts if len(p[3])]),
            [m for p in parts for m in p[2]], kept)


def _load_collection(records: list[Record], height: int, width: int, channels: int,
                     cache_dir: str | os.PathLike | None, workers: int):
    cache_file = None
    if cache_dir:
        cache_file = Path(cache_dir) / f"{_cache_key(records, height, width, channels)}.npz"
        if cache_file.exists():
            cached = np.load(cache_file, allow_pickle=False)
            kept = [records[i] for i in cached["kept"]]
            print(f"Loaded {len(kept)} cached images from {cache_file}")
            return cached["pixels"], cached["thumbs"], list(cached["md5s"]), kept
    pixels, thumbs, md5s, kept_index, skipped = [], [], [], [], []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_decode_one, r, height, width, channels) for r in records]
        for i, (record, future) in enumerate(zip(records, futures)):
            try:
                image, thumb, md5 = future.result()
            except (ImageDecodeError, OSError) as err:
                print(f"Skipping {record.path}: {err}")
                skipped.append(record.path)
                continue
            pixels.append(image.astype(np.float16))
            thumbs.append(thumb)
            md5s.append(md5)
            kept_index.append(i)
            if (i + 1) % 1000 == 0:
                print(f"Decoded {i + 1}/{len(records)} images")
    print(f"Decoded {len(kept_index)} images; skipped {len(skipped)} unreadable file(s).")
    if not kept_index:
        return np.zeros((0, height, width, channels), np.float16), np.zeros((0, THUMBNAIL_SIZE, THUMBNAIL_SIZE)), [], []
    pixels_arr, thumbs_arr = np.stack(pixels), np.stack(thumbs)
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, pixels=pixels_arr, thumbs=thumbs_arr, md5s=np.array(md5s),
                 kept=np.array(kept_index))
    return pixels_arr, thumbs_arr, md5s, [records[i] for i in kept_index]


def load_masks(records: list[Record], height: int, width: int, workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(masks uint8 [n, h, w], has_mask bool [n]): each image's expert tumour mask at the model's
    size, all zero where its collection has none. A mask of another size than its image is refused."""
    def one(record: Record):
        path = mask_path(record)
        if path is None:
            return np.zeros((height, width), np.uint8), False
        with Image.open(path) as mask, Image.open(record.path) as image:
            if mask.size != image.size:
                raise DataError(f"{path} is {mask.size[0]}x{mask.size[1]} but its image {record.path} is "
                                f"{image.size[0]}x{image.size[1]}; a mask must have its image's size.")
        return read_mask(path, height, width), True

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pairs = list(pool.map(one, records))
    if not pairs:
        return np.zeros((0, height, width), np.uint8), np.zeros(0, bool)
    return np.stack([m for m, _ in pairs]), np.array([h for _, h in pairs])
