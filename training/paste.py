"""Tumour copy-paste across collections: a masked tumour of one collection pasted into a
tumour-free slice of another, labelled glioma, so that no collection's look can stand for "normal".

`plan_pastes` decides, per training draw, which draws become pastes (a share of the glioma draws,
so the class balance does not move) and which donor and host each uses; `paste_tumour` makes one
in the tf.data pipeline, before the rest of the augmentation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from training.augment import box_sum, erode, head_mask
from training.settings import PASTE_SHARE

# A host whose sequence the file names gets a donor of that sequence; one that does not (the
# 4-class normals, mostly T1 with contrast; proton density) gets a T1-with-contrast donor.
DONOR_SEQUENCE_FOR_UNKNOWN = "t1ce"
# Pasted pixels stay this far inside the host's head (a share of the image side), off the skull.
INSIDE_HEAD = 0.06
# Fewer pasted pixels than this (the tumour fell outside the host's head): the donor is shown as it is.
MIN_PASTED_PIXELS = 20


@dataclass(frozen=True)
class PastePlan:
    image: np.ndarray   # per draw: the index of the image drawn (the host, for a paste)
    donor: np.ndarray   # per draw: the donor's index, -1 for no paste


def plan_pastes(order: np.ndarray, y: np.ndarray, sources: list[str], sequences: list[str], mask_area: np.ndarray,
                glioma: int, notumor: int, share: float = PASTE_SHARE, seed: int = 0) -> PastePlan:
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


def paste_tumour(host, donor, donor_mask, seed):
    """`donor`'s masked tumour moved to a random place inside `host`'s head, its brightness scaled
    by the two heads' mean brightness, the edge blended; outside the pasted region every host
    pixel is unchanged. [h, w, c] float 0-255 images, [h, w, 1] 0/1 mask -> (image, pasted region)."""
    size = host.shape[0]
    seeds = tf.random.experimental.stateless_split(seed, 2)
    inside = erode(head_mask(host), 2 * round(INSIDE_HEAD * size) + 1)
    mask = original_mask = tf.cast(donor_mask, tf.float32)
    original = donor
    flip = tf.random.stateless_uniform([], seeds[0]) < 0.5
    donor = tf.cond(flip, lambda: tf.reverse(donor, [1]), lambda: donor)
    mask = tf.cond(flip, lambda: tf.reverse(mask, [1]), lambda: mask)
    # Shift the tumour's centre onto a random pixel inside the host's head.
    coords = tf.cast(tf.where(mask[..., 0] > 0), tf.float32)
    centre = tf.reduce_mean(coords, axis=0)
    target_index = tf.random.stateless_categorical(tf.math.log(tf.reshape(inside, [1, -1]) + 1e-9), 1, seeds[1])[0, 0]
    target = tf.cast(tf.stack([target_index // size, target_index % size]), tf.float32)
    shift = tf.cast(tf.round(target - centre), tf.int32)
    donor, mask = tf.roll(donor, shift, [0, 1]), tf.roll(mask, shift, [0, 1])
    region = mask * inside
    donor_tissue = head_mask(donor) * (1.0 - mask)
    ratio = _mean_over(host, inside) / tf.maximum(_mean_over(donor, donor_tissue), 1.0)
    # Soft inside the region's edge (a 5-pixel box blur), zero outside it.
    alpha = region * box_sum(box_sum(region, 5, 0), 5, 1) / 25.0
    pasted = host * (1.0 - alpha) + tf.clip_by_value(donor * ratio, 0.0, 255.0) * alpha
    enough = tf.reduce_sum(region) >= MIN_PASTED_PIXELS
    return tf.where(enough, pasted, original), tf.where(enough, region, original_mask)


def _mean_over(image, weight):
    return tf.reduce_sum(image * weight) / tf.maximum(tf.reduce_sum(weight) * image.shape[-1], 1.0)
