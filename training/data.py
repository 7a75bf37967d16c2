"""Data: read folders of class folders, decode each image once into a cache, group near-duplicates,
split by group (`prepare_data` does all of it and returns a PreparedData).
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
from PIL import Image

from mri.images import ImageDecodeError, decode_image, resize_bilinear, to_grayscale, to_model_input
from training.settings import CACHE_DIR, CHANNELS, IMAGE_SIZE, SEED

SUBSETS = ("train", "validation", "test")
# Two images of one collection are near-duplicates when their 32x32 grayscale thumbnails, each
# made zero-mean and unit-length, have a correlation of at least this (either one mirrored): the
# same scan re-encoded, resized, re-windowed, flipped, or the neighbouring slice. Stricter misses
# re-encoded copies; a perceptual hash misses more and chains unrelated patients together.
NEAR_DUPLICATE_CORRELATION = 0.95
# Skull-stripped, atlas-registered slices of different people (the Alzheimer set) correlate above
# 0.95 and chain a whole collection into one group. Where that happens (the largest group holds
# more than half the collection) the collection is grouped again at this stricter level, which on
# the Alzheimer set gives one group per person.
STRICT_CORRELATION = 0.98
THUMBNAIL_SIZE = 32
# Several slices of one patient are not independent: where the file name names the patient
# (LGG: TCGA_<site>_<patient>_..., BraTS: Brats18_<site>_<case>_<n>_..., OpenNeuro:
# ds<study>_sub-<subject>_...), every file of that patient falls in one group.
PATIENT_PATTERNS = (
    re.compile(r"^(TCGA_[A-Z0-9]+_[A-Z0-9]+)_"),
    re.compile(r"^(Brats\d+_[A-Za-z0-9]+_[A-Za-z0-9]+_\d+)_"),
    re.compile(r"^(ds\d+_sub-[A-Za-z0-9]+)_"),
    # The smaller collections: <collection>_<patient>_<sequence>_s<slice> (ixi-hh-t1_IXI132-HH-1415_t1_s057).
    re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)*_[A-Za-z0-9-]+)_[A-Za-z0-9]+_s\d+\.[A-Za-z]+$"),
)
# The four lower-grade BraTS patients come from TCGA-LGG, like the LGG FLAIR set, and may be the
# same people under other IDs: kept in training, so no test figure can rest on a seen patient.
TRAIN_ONLY_PATIENTS = frozenset({"Brats18_TCIA10_628_1", "Brats18_TCIA10_637_1", "Brats18_TCIA10_639_1",
                                 "Brats18_TCIA13_623_1"})
# The MRI sequence, where a file or its collection names it: a token in the file name
# (BraTS `_t1ce_`, OpenNeuro `_T1w_`), else the last word of the collection's folder name
# (`brain-mri-lgg-flair`); anything else is "unknown".
SEQUENCES = ("flair", "t1", "t1ce", "t2", "pd")
SEQUENCE_IN_NAME = re.compile(r"_(flair|t1ce|t1|t2|pd)(?:w)?(?=_)", re.IGNORECASE)
# Class folders of tumours that are none of the model's types: no output of their own; they train
# "tumour or not" only (training.fit.tumour_aware_loss) and count as tumours in every figure.
OTHER_TUMOUR_LABELS = frozenset({"metastasis"})
# A collection's expert tumour masks sit beside it: <collection>-masks/<image name>.png, same size.
MASK_FOLDER_SUFFIX = "-masks"
SEQUENCE_IN_COLLECTION = re.compile(r"[-_](flair|t1ce|t1|t2)$", re.IGNORECASE)


def patient_of(path: str) -> str | None:
    """The patient (or subject) a file name names, else None."""
    name = Path(path).name
    return next((m.group(1) for m in (p.match(name) for p in PATIENT_PATTERNS) if m), None)


def sequence_of(record: "Record") -> str:
    """flair, t1, t1ce, t2 or unknown (see SEQUENCES)."""
    match = SEQUENCE_IN_NAME.search(Path(record.path).name) or SEQUENCE_IN_COLLECTION.search(record.source)
    return match.group(1).lower() if match else "unknown"


@dataclass(frozen=True)
class Record:
    path: str      # as given (absolute or relative to the working directory)
    label: str     # the class folder's name
    source: str    # the data folder's name, e.g. brain-mri-4class


class DataError(ValueError):
    """A data folder that cannot be used as it is; the message says what to change."""


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
        patient = patient_of(record.path)
        for key in (f"md5:{md5}", f"patient:{record.source}/{patient}" if patient else None):
            if key is None:
                continue
            if key in by_key:
                union(i, by_key[key])
            else:
                by_key[key] = i

    # Files that name their patient are grouped by patient alone: co-registered slices of two
    # patients look alike (BraTS), so thumbnails would wrongly join them.
    sources = np.array([r.source for r in records])
    named = np.array([patient_of(r.path) is not None for r in records])
    for source in np.unique(sources):
        members = np.nonzero((sources == source) & ~named)[0]
        for threshold in (min_correlation, STRICT_CORRELATION):
            links = _similar_pairs(thumbnails[members], threshold)
            if threshold >= STRICT_CORRELATION or _largest_component(len(members), links) <= len(members) / 2:
                break
            print(f"{source}: thumbnails at {threshold} chain most of the collection into one group; "
                  f"grouping it at {STRICT_CORRELATION}.")
        for a, b in links:
            union(members[a], members[b])
    roots = np.array([find(i) for i in range(len(records))])
    _, group_ids = np.unique(roots, return_inverse=True)
    return group_ids


def _similar_pairs(thumbnails: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    pairs = []
    for start in range(0, len(thumbnails), 1024):
        similarity = thumbnail_similarity(thumbnails[start:start + 1024], thumbnails)
        pairs += [(start + a, b) for a, b in zip(*np.nonzero(similarity >= threshold)) if start + a < b]
    return pairs


def _largest_component(n: int, pairs: list[tuple[int, int]]) -> int:
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        parent[find(a)] = find(b)
    return max(Counter(find(i) for i in range(n)).values()) if n else 0


def split_by_groups(records: list[Record], groups: np.ndarray, seed: int = SEED,
                    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> list[str]:
    """Subset per image, by whole groups, stratified by (source, majority label) of each group.
    Groups holding a TRAIN_ONLY_PATIENTS file go to training."""
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[int(g)].append(i)
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    subset = [""] * len(records)
    for g, idx in sorted(members.items()):
        if any(patient_of(records[i].path) in TRAIN_ONLY_PATIENTS for i in idx):
            for i in idx:
                subset[i] = "train"
            continue
        label = Counter(records[i].label for i in idx).most_common(1)[0][0]
        strata[(records[idx[0]].source, label)].append(g)
    rng = np.random.default_rng(seed)
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


def sampling_weights(strata: list, power: float = 0.5) -> np.ndarray:
    """Per-image sampling probability that gives each stratum (collection x class) a share of
    n_stratum ** power: 0 would give every stratum the same share, 1 is plain shuffling. 0.5
    lifts small strata without showing the same few images a dozen times an epoch."""
    keys, index, counts = np.unique(np.asarray(strata), return_inverse=True, return_counts=True)
    share = counts.astype(float) ** power
    weights = (share / share.sum())[index] / counts[index]
    return weights / weights.sum()


def summarize_split(records: list[Record], subsets: list[str]) -> dict:
    counts: dict = {s: Counter() for s in SUBSETS}
    for r, s in zip(records, subsets):
        counts[s][r.label] += 1
    return {s: dict(sorted(c.items())) for s, c in counts.items()}


@dataclass
class PreparedData:
    pixels: np.ndarray        # float16 [n, h, w, c], raw 0-255
    y: np.ndarray             # int label index per image
    records: list[Record]
    labels: list[str]
    groups: np.ndarray
    subsets: list[str]
    data_dirs: list[str]
    thumbnails: np.ndarray    # 32x32 grayscale per image, for near-duplicate checks
    masks: np.ndarray | None = None     # uint8 [n, h, w] expert tumour mask, zero where none
    has_mask: np.ndarray | None = None  # bool [n]: the collection has masks

    @property
    def other_tumour(self) -> int:
        """The y of a tumour of none of the output types (OTHER_TUMOUR_LABELS): one past the labels."""
        return len(self.labels)

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
        return [sequence_of(r) for r, s in zip(self.records, self.subsets) if s == name]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.pixels.shape[1:])


def read_split_csv(path: str | os.PathLike) -> dict[tuple[str, str, str], str]:
    """(collection, class, file name) -> subset, from a run's split.csv."""
    with open(path, newline="") as f:
        return {(row["source"], row["label"], Path(row["path"]).name): row["subset"] for row in csv.DictReader(f)}


def keep_split(records: list[Record], groups: np.ndarray, earlier: dict, seed: int = SEED) -> list[str]:
    """The subsets of an earlier split for the images it lists (a whole group follows its listed
    members), and split_by_groups for groups it does not know: new collections join a model's data
    without moving an image it was trained on into a held-out subset, or the reverse."""
    known = {}
    for record, group in zip(records, groups):
        subset = earlier.get((record.source, record.label, Path(record.path).name))
        if subset is not None:
            # Of a group's listed members the most held-out subset wins: test before validation before train.
            known[int(group)] = max(known.get(int(group), subset), subset, key=SUBSETS.index)
    new = [i for i, g in enumerate(groups) if int(g) not in known]
    fresh = split_by_groups([records[i] for i in new], groups[new], seed) if new else []
    subsets = [known.get(int(g), "") for g in groups]
    for i, subset in zip(new, fresh):
        subsets[i] = subset
    return subsets


def prepare_data(data_dirs: list[str], image_size: int = IMAGE_SIZE, channels: int = CHANNELS,
                 seed: int = SEED, cache_dir: str | None = CACHE_DIR, labels: list[str] | None = None,
                 split_from: str | None = None) -> PreparedData:
    """Decode, group and split the folders. `labels` fixes the output classes when some of them
    have no images here (a leave-one-collection-out fold without the only meningioma collection).
    `split_from` (a run's split.csv) keeps that run's subsets for the images it lists."""
    records = scan_folders(data_dirs)
    if labels is None:
        labels = labels_of(records)
    elif missing := sorted(set(labels_of(records)) - set(labels)):
        raise ValueError(f"The folders hold classes {missing} that are not among the labels {labels}.")
    pixels, thumbnails, md5s, kept = load_images(records, image_size, image_size, channels, cache_dir)
    groups = group_near_duplicates(kept, thumbnails, md5s)
    subsets = (keep_split(kept, groups, read_split_csv(split_from), seed) if split_from
               else split_by_groups(kept, groups, seed))
    y = np.array([labels.index(r.label) if r.label in labels else len(labels) for r in kept])
    for name in SUBSETS:
        if name not in subsets:
            raise ValueError(f"The {name} subset is empty: {len(set(groups))} near-duplicate groups are too "
                             "few to split; add images.")
    masks, has_mask = load_masks(kept, image_size, image_size)
    return PreparedData(pixels, y, kept, labels, groups, subsets, [str(d) for d in data_dirs], thumbnails,
                        masks, has_mask)
