"""Data: read folders of class folders, decode each image once into a cache, group near-duplicates,
split by group, and feed tf.data pipelines with augmentation for the training subset only.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.images import ImageDecodeError, decode_image, to_grayscale, to_model_input

SUBSETS = ("train", "validation", "test")
# Two images of one collection are near-duplicates when their 32x32 grayscale thumbnails, each
# made zero-mean and unit-length, have a correlation of at least this (either one mirrored): the
# same scan re-encoded, resized, re-windowed, flipped, or the neighbouring slice. Measured on the
# 4-class set: 759 of its 1,104 `Te-` images have such a twin among the `Tr-` images at 0.95 (614
# at 0.99); a 256-bit difference hash found only 245-300, and chained unrelated LGG patients into
# groups of 1,700 past 20 bits. At 0.95 the largest group holds 66 images (one LGG patient).
NEAR_DUPLICATE_CORRELATION = 0.95
THUMBNAIL_SIZE = 32
# Several slices of one patient are not independent: the LGG set names the patient in the file
# name (TCGA_<site>_<patient>_...); files that match are grouped by patient.
PATIENT_PATTERN = re.compile(r"^(TCGA_[A-Z0-9]+_[A-Z0-9]+)_")


@dataclass(frozen=True)
class Record:
    path: str      # as given (absolute or relative to the working directory)
    label: str     # the class folder's name
    source: str    # the data folder's name, e.g. brain-mri-4class


class DataError(ValueError):
    """A data folder that cannot be used as it is; the message says what to change."""


def scan_folders(data_dirs: list[str | os.PathLike]) -> list[Record]:
    """All files of every class folder of every data folder, merged by class name."""
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
    labels = labels_of(records)
    if len(labels) < 2:
        raise DataError(f"Found only the class {labels}; a classifier needs two or more class folders.")
    return records


def labels_of(records: list[Record]) -> list[str]:
    return sorted({r.label for r in records})


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    """32x32 grayscale thumbnail (box filter) for near-duplicate search."""
    from PIL import Image

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
                cache_dir: str | os.PathLike | None = ".cache/images", workers: int = 2):
    """Decode and resize every image once (cached on disk): -> (pixels float16, thumbnails, md5s, kept records).

    A file that cannot be read is named and skipped, never fatal; the count is printed at the end.
    Pixels are stored as float16 (exact to 1/8 of a grey level at 255) to halve memory.
    """
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
        raise DataError("No readable images were found; check the data folders.")
    pixels_arr, thumbs_arr = np.stack(pixels), np.stack(thumbs)
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache_file, pixels=pixels_arr, thumbs=thumbs_arr, md5s=np.array(md5s),
                 kept=np.array(kept_index))
    return pixels_arr, thumbs_arr, md5s, [records[i] for i in kept_index]


def _unit_rows(thumbnails: np.ndarray) -> np.ndarray:
    flat = thumbnails.reshape(len(thumbnails), -1).astype(np.float32)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-6)


def thumbnail_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] correlation of thumbnails, the larger of as-is and b mirrored."""
    ua = _unit_rows(a)
    return np.maximum(ua @ _unit_rows(b).T, ua @ _unit_rows(b[:, :, ::-1]).T)


def group_near_duplicates(records: list[Record], thumbnails: np.ndarray, md5s: list[str],
                          min_correlation: float = NEAR_DUPLICATE_CORRELATION) -> np.ndarray:
    """Group id per image: the union of exact duplicates (MD5), near-duplicates within a
    collection (thumbnail correlation, mirrored too) and slices of the same patient."""
    parent = np.arange(len(records))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i, j):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_key: dict[str, int] = {}
    for i, (record, md5) in enumerate(zip(records, md5s)):
        match = PATIENT_PATTERN.match(Path(record.path).name)
        for key in (f"md5:{md5}", f"patient:{record.source}/{match.group(1)}" if match else None):
            if key is None:
                continue
            if key in by_key:
                union(i, by_key[key])
            else:
                by_key[key] = i

    sources = np.array([r.source for r in records])
    for start in range(0, len(thumbnails), 1024):
        similarity = thumbnail_similarity(thumbnails[start:start + 1024], thumbnails)
        for a, b in zip(*np.nonzero(similarity >= min_correlation)):
            if start + a < b and sources[start + a] == sources[b]:
                union(start + a, b)
    roots = np.array([find(i) for i in range(len(records))])
    _, group_ids = np.unique(roots, return_inverse=True)
    return group_ids


def split_by_groups(records: list[Record], groups: np.ndarray, seed: int = 42,
                    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> list[str]:
    """Subset per image, by whole groups, stratified by (source, majority label) of each group."""
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[int(g)].append(i)
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    for g, idx in sorted(members.items()):
        label = Counter(records[i].label for i in idx).most_common(1)[0][0]
        strata[(records[idx[0]].source, label)].append(g)
    rng = np.random.default_rng(seed)
    subset = [""] * len(records)
    for key in sorted(strata):
        group_list = strata[key]
        rng.shuffle(group_list)
        total = sum(len(members[g]) for g in group_list)
        targets = np.array(fractions) * total
        filled = np.zeros(3)
        for g in group_list:
            # Put the group where it closes the largest remaining gap (relative to its target).
            gaps = (targets - filled) / np.maximum(targets, 1)
            which = int(np.argmax(gaps))
            filled[which] += len(members[g])
            for i in members[g]:
                subset[i] = SUBSETS[which]
    return subset


def write_split_csv(path: str | os.PathLike, records: list[Record], groups: np.ndarray, subsets: list[str]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "source", "group", "subset"])
        for r, g, s in zip(records, groups, subsets):
            writer.writerow([r.path, r.label, r.source, int(g), s])


# ---------------------------------------------------------------- augmentation and pipelines

# Share of training images whose grey levels go through a random curve (see _random_intensity_curve).
SEQUENCE_PROBABILITY = 0.5
AUGMENTATION = ("flip, zoom in 20% to out 30%, rotation ±14°, shift ±6%, gamma 0.6-1.6, random intensity curve "
                "(half the images), JPEG q40-95, blur, noise")


def _random_intensity_curve(image, seed):
    """Map grey levels through a random piecewise-linear curve. CSF, fat, oedema and tumour then
    swap brightness the way they do between T1, T1 with contrast, T2 and FLAIR, so the network
    cannot read "tumour" from the sequence a collection happened to use (in the 4-class set tumours
    are mostly T1 with contrast and normals mostly T2/FLAIR) and must find it by shape. Black stays
    black and the darkest levels stay dark: air and background are dark in every sequence."""
    import tensorflow as tf

    positions = [0.0, 0.15, 0.4, 0.7, 1.0]
    u = tf.random.stateless_uniform([4], seed)
    levels = tf.concat([[0.0], 0.02 + 0.28 * u[:1], 0.1 + 0.9 * u[1:]], axis=0)
    levels = levels / tf.reduce_max(levels)
    t = tf.clip_by_value(image, 0.0, 255.0) / 255.0
    curve = tf.zeros_like(t)
    for i in range(4):
        step = tf.clip_by_value((t - positions[i]) / (positions[i + 1] - positions[i]), 0.0, 1.0)
        curve += (levels[i + 1] - levels[i]) * step
    return 255.0 * curve


def _augment_one(image, seed_pair):
    """Per-image augmentation of raw 0-255 pixels: the paper's horizontal flip (zoom comes later, per
    batch), plus what sequences, scanners and exports vary: gamma, a random intensity curve, JPEG
    quality, blur and noise."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed_pair, 8)
    image = tf.image.stateless_random_flip_left_right(image, seeds[0])
    # Gamma 0.6-1.6: contrast curves differ between sequences and scanners.
    gamma = tf.exp(tf.random.stateless_uniform([], seeds[1], -0.5, 0.5))
    image = 255.0 * tf.pow(tf.clip_by_value(image, 0.0, 255.0) / 255.0, gamma)
    image = tf.cond(tf.random.stateless_uniform([], seeds[6]) < SEQUENCE_PROBABILITY,
                    lambda: _random_intensity_curve(image, seeds[7]), lambda: image)
    # JPEG re-encoding at quality 40-95 half the time.
    u = tf.random.stateless_uniform([3], seeds[2])
    image = tf.cond(u[0] < 0.5, lambda: tf.cast(tf.image.stateless_random_jpeg_quality(
        tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8), 40, 95, seeds[3]), tf.float32), lambda: image)
    # Blur a third of the time (3x3 binomial kernel).
    kernel = tf.constant([1.0, 2.0, 1.0])
    kernel = tf.tensordot(kernel, kernel, axes=0) / 16.0
    channels = image.shape[-1]
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
    image = tf.cond(u[1] < 0.33, lambda: tf.nn.depthwise_conv2d(image[None], kernel, [1, 1, 1, 1], "SAME")[0],
                    lambda: image)
    # Gaussian noise, sigma up to 6 grey levels, a third of the time.
    sigma = tf.where(u[2] < 0.33, tf.random.stateless_uniform([], seeds[4], 0.0, 6.0), 0.0)
    image = image + sigma * tf.random.stateless_normal(tf.shape(image), seeds[5])
    return tf.clip_by_value(image, 0.0, 255.0)


def make_dataset(pixels: np.ndarray, labels: np.ndarray, batch_size: int, training: bool, seed: int = 42):
    """tf.data pipeline over cached arrays; augmentation only when `training`."""
    import keras
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((pixels, labels.astype(np.int32)))
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
        counter = tf.data.Dataset.counter(seed).map(lambda c: tf.stack([c, tf.constant(seed, tf.int64)]))
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda xy, s: (_augment_one(xy[0], s), xy[1]), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if training:
        # The paper's zoom, plus small rotations and shifts, as Keras preprocessing layers.
        geometry = keras.Sequential([
            keras.layers.RandomZoom((-0.2, 0.3), fill_mode="constant", seed=seed),
            keras.layers.RandomRotation(0.04, fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed),
        ])
        shape = (None, *pixels.shape[1:])
        ds = ds.map(lambda x, y: (tf.ensure_shape(geometry(x, training=True), shape), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def summarize_split(records: list[Record], subsets: list[str]) -> dict:
    counts: dict = {s: Counter() for s in SUBSETS}
    for r, s in zip(records, subsets):
        counts[s][r.label] += 1
    return {s: dict(sorted(c.items())) for s, c in counts.items()}
