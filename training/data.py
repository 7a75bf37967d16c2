"""The data set a run trains on: the folders read (training.folders), grouped and split
(training.split); `prepare_data` does all of it and returns a PreparedData of plain per-image
arrays, so the stages after it only index them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mri.contract import find_no_tumor_label
from training.folders import Record, labels_of, load_images, load_masks, scan_folders, sequence_of
from training.settings import CACHE_DIR, CHANNELS, IMAGE_SIZE, SEED
from training.split import SUBSETS, group_near_duplicates, keep_split, read_split_csv, split_by_groups


@dataclass
class PreparedData:
    """Per-image arrays, one row per readable image, in the order of `records`."""
    pixels: np.ndarray        # float16 [n, h, w, c], raw 0-255
    y: np.ndarray             # int label index; len(labels) for a tumour of none of the output types
    records: list[Record]
    labels: list[str]
    no_tumor_index: int | None  # where labels holds the no-tumour class (mri.contract), else None
    groups: np.ndarray        # near-duplicate group id
    subsets: np.ndarray       # "train", "validation" or "test"
    sources: np.ndarray       # the collection (data folder's name)
    sequences: np.ndarray     # the MRI sequence: flair, t1, t1ce, t2, pd or unknown
    data_dirs: list[str]
    thumbnails: np.ndarray    # 32x32 grayscale, for near-duplicate checks
    masks: np.ndarray | None = None     # uint8 [n, h, w] expert tumour mask, zero where none
    has_mask: np.ndarray | None = None  # bool: the collection has masks

    @property
    def no_tumor_label(self) -> str | None:
        return self.labels[self.no_tumor_index] if self.no_tumor_index is not None else None

    @property
    def other_tumour(self) -> int:
        """The y of a tumour of none of the output types (OTHER_TUMOUR_LABELS): one past the labels."""
        return len(self.labels)

    def mask(self, name: str) -> np.ndarray:
        """True for each image of one subset (train, validation or test)."""
        return self.subsets == name

    def subset(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        mask = self.mask(name)
        return self.pixels[mask], self.y[mask]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.pixels.shape[1:])


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
    sequences = np.array([sequence_of(r) for r in kept])
    masks, has_mask = load_masks(kept, image_size, image_size)
    groups = group_near_duplicates(kept, thumbnails, md5s)
    subsets = np.array(keep_split(kept, groups, read_split_csv(split_from), seed) if split_from
                       else split_by_groups(kept, groups, seed))
    for name in SUBSETS:
        if name not in subsets:
            raise ValueError(f"The {name} subset is empty: {len(set(groups))} near-duplicate groups are too "
                             "few to split; add images.")
    y = np.array([labels.index(r.label) if r.label in labels else len(labels) for r in kept])
    no_tumor = find_no_tumor_label(labels)
    return PreparedData(pixels, y, kept, labels, labels.index(no_tumor) if no_tumor else None, groups, subsets,
                        np.array([r.source for r in kept]), sequences, [str(d) for d in data_dirs], thumbnails,
                        masks, has_mask)
