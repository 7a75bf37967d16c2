"""The split: images that must not be split apart (near-duplicates, slices of one patient) share a
group, and whole groups go to train, validation or test; or an earlier run's split.csv is kept.
"""
from __future__ import annotations

import csv
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from training.folders import Record
from training.settings import SEED

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


def patient_of(path: str) -> str | None:
    """The patient (or subject) a file name names, else None."""
    name = Path(path).name
    return next((m.group(1) for m in (p.match(name) for p in PATIENT_PATTERNS) if m), None)


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


def write_split_csv(path: str | os.PathLike, records: list[Record], groups: np.ndarray, subsets: list[str]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "source", "group", "subset"])
        for r, g, s in zip(records, groups, subsets):
            writer.writerow([r.path, r.label, r.source, int(g), s])


def summarize_split(records: list[Record], subsets: list[str]) -> dict:
    counts: dict = {s: Counter() for s in SUBSETS}
    for r, s in zip(records, subsets):
        counts[s][r.label] += 1
    return {s: dict(sorted(c.items())) for s, c in counts.items()}
