"""The tf.data pipelines a run fits on: which images an epoch draws (sampling weights, and which
glioma draws become a tumour pasted into another collection's normal slice, so that no
collection's look can stand for "normal"), each drawn image augmented (training.augment; the
training subset only, never inside the saved model), and for the outline head each image's
tumour mask moved with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from training.augment import MIN_PASTED_PIXELS, augment_one, paste_tumour
from training.data import PreparedData
from training.settings import DEFAULTS, SEED, TrainingSettings

# A host whose sequence the file names gets a donor of that sequence; one that does not (the
# 4-class normals, mostly T1 with contrast; proton density) gets a T1-with-contrast donor.
DONOR_SEQUENCE_FOR_UNKNOWN = "t1ce"


def sampling_weights(strata: list, power: float = 0.5) -> np.ndarray:
    """Per-image sampling probability that gives each stratum (collection x class) a share of
    n_stratum ** power: 0 would give every stratum the same share, 1 is plain shuffling. 0.5
    lifts small strata without showing the same few images a dozen times an epoch."""
    keys, index, counts = np.unique(np.asarray(strata), return_inverse=True, return_counts=True)
    share = counts.astype(float) ** power
    weights = (share / share.sum())[index] / counts[index]
    return weights / weights.sum()


@dataclass(frozen=True)
class PastePlan:
    image: np.ndarray   # per draw: the index of the image drawn (the host, for a paste)
    donor: np.ndarray   # per draw: the donor's index, -1 for no paste


def plan_pastes(order: np.ndarray, y: np.ndarray, sources: list[str], sequences: list[str], mask_area: np.ndarray,
                glioma: int, notumor: int, share: float, seed: int = 0) -> PastePlan:
    """Replace `share` of the glioma draws of `order` by (host, donor) pairs: the donor a masked
    glioma image (`mask_area` tumour pixels at the model's size), the host a no-tumour image of
    another collection and a matching sequence."""
    rng = np.random.default_rng(seed)
    sources, sequences = np.asarray(sources), np.asarray(sequences)
    donors = np.nonzero((y == glioma) & (mask_area >= MIN_PASTED_PIXELS))[0]
    hosts = np.nonzero(y == notumor)[0]
    image, donor = order.copy(), np.full(len(order), -1)
    if not len(donors) or not len(hosts):
        return PastePlan(image, donor)
    host_sequence = np.where(np.isin(sequences[hosts], ["flair", "t1", "t1ce", "t2"]), sequences[hosts],
                             DONOR_SEQUENCE_FOR_UNKNOWN)
    chosen = np.nonzero((y[order] == glioma) & (rng.random(len(order)) < share))[0]
    for position in chosen:
        d = rng.choice(donors)
        fits = hosts[(sources[hosts] != sources[d]) & (host_sequence == sequences[d])]
        if len(fits):
            image[position], donor[position] = rng.choice(fits), d
    return PastePlan(image, donor)


def make_dataset(pixels: np.ndarray, labels: np.ndarray, batch_size: int, training: bool, seed: int = SEED,
                 intensity: str = DEFAULTS.intensity, skull: bool = DEFAULTS.skull, weights: np.ndarray | None = None,
                 epochs: int = 1, pastes: Callable[[np.ndarray], PastePlan] | None = None,
                 masks: np.ndarray | None = None, glioma: int = 0, known: np.ndarray | None = None):
    """tf.data pipeline over cached arrays; augmentation only when `training`. With `weights`,
    training images are drawn with those probabilities (with replacement), `epochs` x n of them;
    with `pastes` (draws -> PastePlan) and `masks`, some glioma draws become pasted tumours.
    With `known` (1 where an image's tumour mask is known), elements are ({image, tumour_mask},
    {probabilities, outline}) for the outline head, the mask moved with its image."""
    outline = known is not None
    images, targets = tf.constant(pixels), tf.constant(labels.astype(np.int32))
    tumour_masks = tf.constant(masks if masks is not None else np.zeros((1, *pixels.shape[1:3]), np.uint8))
    is_known = tf.constant(known.astype(np.float32) if outline else np.zeros(1, np.float32))

    def mask_of(i):
        return tf.cast(tf.gather(tumour_masks, i), tf.float32)[..., None] if outline else tf.zeros((1, 1, 1))

    def one(i):
        return (tf.cast(tf.gather(images, i), tf.float32), mask_of(i),
                tf.gather(is_known, i) if outline else tf.constant(0.0), tf.gather(targets, i))

    if training and weights is not None:
        order = np.random.default_rng(seed).choice(len(labels), size=epochs * len(labels), p=weights)
        plan = pastes(order) if pastes else PastePlan(order, np.full(len(order), -1))

        def draw(i, donor, position):
            d = tf.maximum(donor, 0)

            def pasted():
                image, region = paste_tumour(tf.cast(tf.gather(images, i), tf.float32),
                                             tf.cast(tf.gather(images, d), tf.float32),
                                             tf.gather(tumour_masks, d)[..., None],
                                             tf.stack([position, tf.constant(seed + 1, tf.int64)]))
                return image, region if outline else tf.zeros((1, 1, 1)), tf.constant(1.0), tf.constant(glioma)

            return tf.cond(donor >= 0, pasted, lambda: one(i))

        ds = tf.data.Dataset.from_tensor_slices((plan.image, plan.donor, np.arange(len(order), dtype=np.int64))).map(
            draw, num_parallel_calls=tf.data.AUTOTUNE).repeat()
    else:
        ds = tf.data.Dataset.range(len(labels)).map(one, num_parallel_calls=tf.data.AUTOTUNE)
        if training:
            ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    if training:
        counter = tf.data.Dataset.counter(seed).map(lambda c: tf.stack([c, tf.constant(seed, tf.int64)]))
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda e, s: (augment_one(e[0], s, intensity, skull), *e[1:]), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if training:
        # The paper's zoom, plus small rotations and shifts, as Keras preprocessing layers; the
        # mask rides along as a second channel, so it moves exactly as its image.
        geometry = keras.Sequential([
            keras.layers.RandomZoom((-0.2, 0.3), fill_mode="constant", seed=seed),
            keras.layers.RandomRotation(0.04, fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed),
        ])
        channels = pixels.shape[-1]

        def move(x, m, k, y):
            if not outline:
                return tf.ensure_shape(geometry(x, training=True), (None, *pixels.shape[1:])), m, k, y
            both = geometry(tf.concat([x, m], axis=-1), training=True)
            return (tf.ensure_shape(both[..., :channels], (None, *pixels.shape[1:])),
                    tf.ensure_shape(both[..., channels:], (None, *pixels.shape[1:3], 1)), k, y)

        ds = ds.map(move, num_parallel_calls=tf.data.AUTOTUNE)
    if outline:
        ds = ds.map(lambda x, m, k, y: ({"image": x, "tumour_mask": m},
                                        {"probabilities": y, "outline": tf.reshape(k, [-1, 1, 1, 1])}))
    else:
        ds = ds.map(lambda x, m, k, y: (x, y))
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclass(frozen=True)
class Pipelines:
    train: tf.data.Dataset          # augmented, drawn with replacement when weighted, repeated
    validation: tf.data.Dataset
    steps_per_epoch: int | None     # None: one pass over the training subset
    outline: bool                   # elements carry the tumour mask for the outline head


def training_pipelines(data: PreparedData, s: TrainingSettings, global_batch: int) -> Pipelines:
    """The training and validation tf.data pipelines of a run: sampling weights, copy-paste plan,
    and, with the outline head, which slices' masks are known."""
    train, validation = data.subsets == "train", data.subsets == "validation"
    x_train, y_train = data.pixels[train], data.y[train]
    x_val, y_val = data.pixels[validation], data.y[validation]
    weights = None
    if s.sampling == "balanced":
        weights = sampling_weights([f"{r.source}/{r.label}" for r, t in zip(data.records, train) if t])
    notumor = data.no_tumor_index
    glioma = data.labels.index("glioma") if "glioma" in data.labels else 0
    masks = data.masks[train] if data.masks is not None else None
    pastes = None
    if s.paste_share > 0 and notumor is not None and "glioma" in data.labels and masks is not None:
        if weights is None:
            weights = np.full(len(y_train), 1.0 / len(y_train))
        def pastes(order):
            return plan_pastes(order, y_train, data.sources[train], data.sequences[train], masks.sum(axis=(1, 2)),
                               glioma, notumor, s.paste_share, s.seed)
        planned = pastes(np.arange(len(y_train)))
        print(f"Copy-paste: {int((planned.donor >= 0).sum())} of {int((y_train == glioma).sum())} glioma draws an "
              "epoch become tumours pasted into another collection's normal slice.", flush=True)
    outline = s.outline_weight > 0
    if outline and (data.masks is None or notumor is None):
        raise ValueError("--outline-weight needs a no-tumour class and a collection with tumour masks.")
    # A slice's outline is known where its collection has masks, and for every no-tumour slice (empty).
    known = {name: (data.has_mask[m] | (data.y[m] == notumor)) for name, m in
             (("train", train), ("validation", validation))} if outline else {}
    # At least one epoch of draws (repeated): with --epochs 0 the outline stage still needs images.
    train_ds = make_dataset(x_train, y_train, global_batch, training=True, seed=s.seed, intensity=s.intensity,
                            skull=s.skull, weights=weights, epochs=max(1, s.epochs), pastes=pastes, masks=masks,
                            glioma=glioma, known=known.get("train"))
    val_ds = make_dataset(x_val, y_val, global_batch, training=False,
                          masks=data.masks[validation] if outline else None, known=known.get("validation"))
    # Weighted sampling draws with replacement forever, so an epoch needs a length.
    steps = int(np.ceil(len(y_train) / global_batch)) if weights is not None else None
    return Pipelines(train_ds, val_ds, steps, outline)
