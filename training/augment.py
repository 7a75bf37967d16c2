"""Per-image training augmentation of raw 0-255 pixels ([h, w, c] float32, stateless seeds).

Two families. The scanner family (flip, gamma, JPEG, blur, noise) varies what exports and
scanners vary. The shortcut family takes away the cues a network can use instead of the tumour:
the sequence's look (tissue brightness order: `random_intensity_curve`,
`random_tissue_intensities`, `invert_contrast`, `random_bias_field`, as in BigAug and
SynthSeg-style training), the framing (skull-stripped or not: `strip_skull`, `add_skull`,
`random_background`) and the collection's look as a stand-in for "normal" (`paste_tumour`: a
masked tumour of one collection pasted into a tumour-free slice of another, labelled glioma, on
the draws training.pipelines.plan_pastes picks, before the rest of the augmentation). Every
transform keeps black background black unless it is about the background, so "where the head
is" means the same before and after.
"""
from __future__ import annotations

import tensorflow as tf

from training.settings import INTENSITY_MODES

# Stronger intensity augmentation: which share of images gets each stacked transform.
INTENSITY_PROBABILITIES = {"curve or tissues": 0.8, "invert": 0.2, "bias field": 0.5}
# Skull and background augmentation: share of images whose skull is removed, or given one.
SKULL_PROBABILITIES = {"strip": 0.25, "add": 0.25, "background": 0.15}
# Below this share of the image's brightest level a pixel counts as background.
BACKGROUND_LEVEL = 0.06
# Pasted pixels stay this far inside the host's head (a share of the image side), off the skull.
INSIDE_HEAD = 0.06
# Fewer pasted pixels than this (the tumour fell outside the host's head): the donor is shown as it is.
MIN_PASTED_PIXELS = 20

AUGMENTATION = {
    "curve": "flip, gamma 0.6-1.6, random intensity curve (half the images), JPEG q40-95, blur, noise",
    "stacked": "flip, gamma 0.6-1.6, stacked intensity transforms (random curve or random per-tissue "
               "intensities on 80 %, contrast inversion 20 %, bias field 50 %), JPEG q40-95, blur, noise",
    "skull": "skull stripped 25 %, synthetic skull added 25 %, noisy background 15 %",
    "geometry": "zoom in 20 % to out 30 %, rotation ±14°, shift ±6 %",
}


def describe(intensity: str, skull: bool) -> str:
    """The augmentation of a run in words, for metadata.json and the reports."""
    parts = [AUGMENTATION[intensity]] + ([AUGMENTATION["skull"]] if skull else []) + [AUGMENTATION["geometry"]]
    return "; ".join(parts)


def random_intensity_curve(image, seed):
    """Map grey levels through a random piecewise-linear curve, so CSF, fat, oedema and tumour
    swap brightness as they do between T1, T1 with contrast, T2 and FLAIR. Black stays black and
    the darkest levels stay dark: air and background are dark in every sequence."""
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


def random_tissue_intensities(image, seed, bands: int = 5):
    """SynthSeg-style: cut the head's grey levels into `bands` intensity bands at random edges
    (a band is roughly one tissue), give each band a random brightness and keep its texture with
    a random gain. Unlike a curve this can make two neighbouring tissues swap places."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    edges = tf.sort(tf.random.stateless_uniform([bands - 1], seeds[0], 0.08, 0.95))
    levels = tf.random.stateless_uniform([bands], seeds[1], 0.08, 1.0)
    gain = tf.random.stateless_uniform([], seeds[2], 0.3, 1.5)
    t = tf.clip_by_value(image, 0.0, 255.0) / 255.0
    lower = tf.concat([[0.0], edges], 0)
    upper = tf.concat([edges, [1.0]], 0)
    centre = (lower + upper) / 2
    out = tf.zeros_like(t)
    for k in range(bands):
        # Soft band membership (width 0.02), so band edges do not draw new contours.
        member = tf.sigmoid((t - lower[k]) / 0.02) - tf.sigmoid((t - upper[k]) / 0.02)
        out += member * (levels[k] + gain * (t - centre[k]))
    return 255.0 * tf.clip_by_value(out * _head_weight(t), 0.0, 1.0)


def invert_contrast(image):
    """Bright tissue dark and dark tissue bright inside the head (T1 <-> T2 in the extreme); the
    background stays black."""
    t = tf.clip_by_value(image, 0.0, 255.0) / 255.0
    peak = tf.reduce_max(t)
    return 255.0 * _head_weight(t) * tf.clip_by_value(peak * 1.05 - t, 0.0, 1.0)


def random_bias_field(image, seed, strength: float = 0.35):
    """A smooth multiplicative field (a 4x4 random grid, upsampled): coil sensitivity makes one
    side of a real scan brighter than the other."""
    height, width = image.shape[0], image.shape[1]
    grid = tf.random.stateless_uniform([1, 4, 4, 1], seed, -strength, strength)
    field = tf.exp(tf.image.resize(grid, [height, width], method="bicubic"))[0]
    return tf.clip_by_value(image * field, 0.0, 255.0)


def stacked_intensity(image, seed):
    """Several intensity transforms in a row, each with its INTENSITY_PROBABILITIES share."""
    seeds = tf.random.experimental.stateless_split(seed, 6)
    u = tf.random.stateless_uniform([4], seeds[0])
    p = INTENSITY_PROBABILITIES
    image = tf.cond(u[0] < p["curve or tissues"],
                    lambda: tf.cond(u[1] < 0.5, lambda: random_intensity_curve(image, seeds[1]),
                                    lambda: random_tissue_intensities(image, seeds[2])),
                    lambda: image)
    image = tf.cond(u[2] < p["invert"], lambda: invert_contrast(image), lambda: image)
    return tf.cond(u[3] < p["bias field"], lambda: random_bias_field(image, seeds[3]), lambda: image)


def head_mask(image):
    """1 inside the head, holes (dark CSF, necrosis) filled: pixels between the first and last
    non-background pixel of their row and of their column."""
    gray = tf.reduce_max(image, axis=-1)
    bright = gray > BACKGROUND_LEVEL * tf.reduce_max(gray, axis=[-2, -1], keepdims=True)

    def between(axis):
        # First and last bright index along `axis` from two reductions (TF's CPU cumsum is slow).
        index = tf.reshape(tf.range(gray.shape[axis]), [-1, 1] if axis == -2 else [-1])
        first = tf.reduce_min(tf.where(bright, index, gray.shape[axis]), axis=axis, keepdims=True)
        last = tf.reduce_max(tf.where(bright, index, -1), axis=axis, keepdims=True)
        return tf.logical_and(index >= first, index <= last)

    return tf.cast(tf.logical_and(between(-2), between(-1)), tf.float32)[..., None]


def box_sum(mask, size: int, axis: int):
    """Sum over a centred window of `size` along an image's `axis` (0 rows, 1 columns) of a
    one-channel mask: a convolution with ones, far cheaper on this CPU than TF's max-pool or cumsum
    over the same window (docs/log.md)."""
    kernel = tf.ones([size, 1, 1, 1] if axis == 0 else [1, size, 1, 1], mask.dtype)
    batched = mask if mask.shape.rank == 4 else mask[None]
    summed = tf.nn.conv2d(batched, kernel, 1, "SAME")
    return summed if mask.shape.rank == 4 else summed[0]


def dilate(mask, size: int):
    """Binary dilation by a size x size square."""
    return tf.cast(box_sum(box_sum(mask, size, 0), size, 1) > 0.5, tf.float32)


def erode(mask, size: int):
    return 1.0 - dilate(1.0 - mask, size)


def strip_skull(image, seed):
    """Black out the rim of the head, 2 or 4 % of the image wide (skull and scalp are about 5 % of
    a head's width), as skull-stripping tools do; the pixels inside the rim are left exactly as
    they were."""
    size = image.shape[0]
    narrow, wide = 2 * round(0.02 * size) + 1, 2 * round(0.04 * size) + 1
    mask = head_mask(image)
    inner = tf.cond(tf.random.stateless_uniform([], seed) < 0.5,
                    lambda: erode(mask, narrow), lambda: erode(mask, wide))
    return image * inner


def add_skull(image, seed):
    """Draw a skull around the head: a dark bone ring inside a bright scalp ring, with texture,
    as an unstripped T1 scan shows it; inside the head nothing changes."""
    size = image.shape[0]
    seeds = tf.random.experimental.stateless_split(seed, 3)
    u = tf.random.stateless_uniform([3], seeds[0])
    mask = head_mask(image)
    bone = dilate(mask, 2 * round(0.02 * size) + 1)
    scalp = dilate(mask, 2 * round(0.045 * size) + 1)
    peak = tf.reduce_max(image)
    texture = 1.0 + 0.25 * tf.random.stateless_normal(tf.shape(image), seeds[1])
    bone_level = peak * (0.03 + 0.15 * u[0])
    scalp_level = peak * (0.35 + 0.6 * u[1])
    ring = (bone - mask) * bone_level + (scalp - bone) * scalp_level
    return tf.clip_by_value(image * mask + ring * texture, 0.0, 255.0)


def random_background(image, seed):
    """Lift the background to a noisy grey (up to 8 % of the peak), as scans exported without
    clipping the noise floor show it; the head is unchanged."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    level = tf.random.stateless_uniform([], seeds[0], 0.01, 0.08) * tf.reduce_max(image)
    noise = tf.abs(tf.random.stateless_normal(tf.shape(image), seeds[1])) * level
    return image + (1.0 - head_mask(image)) * noise


def skull_and_background(image, seed):
    seeds = tf.random.experimental.stateless_split(seed, 4)
    u = tf.random.stateless_uniform([2], seeds[0])
    p = SKULL_PROBABILITIES
    image = tf.case([(u[0] < p["strip"], lambda: strip_skull(image, seeds[1])),
                     (u[0] < p["strip"] + p["add"], lambda: add_skull(image, seeds[2]))], default=lambda: image)
    return tf.cond(u[1] < p["background"], lambda: random_background(image, seeds[3]), lambda: image)


def _head_weight(t):
    """0 on the background, 1 in the head, a short ramp between, so intensity remaps keep black black."""
    return tf.clip_by_value((t - 0.02) / 0.04, 0.0, 1.0)


def augment_one(image, seed_pair, intensity: str = "stacked", skull: bool = True):
    """One training image: the paper's horizontal flip (zoom comes later, per batch), skull and
    background, intensity, then what exports vary: JPEG quality, blur and noise."""
    if intensity not in INTENSITY_MODES:
        raise ValueError(f"Unknown intensity augmentation {intensity!r}; choose one of {', '.join(INTENSITY_MODES)}.")
    seeds = tf.random.experimental.stateless_split(seed_pair, 9)
    image = tf.image.stateless_random_flip_left_right(image, seeds[0])
    if skull:
        image = skull_and_background(image, seeds[8])
    gamma = tf.exp(tf.random.stateless_uniform([], seeds[1], -0.5, 0.5))
    image = 255.0 * tf.pow(tf.clip_by_value(image, 0.0, 255.0) / 255.0, gamma)
    if intensity == "stacked":
        image = stacked_intensity(image, seeds[7])
    else:
        image = tf.cond(tf.random.stateless_uniform([], seeds[6]) < 0.5,
                        lambda: random_intensity_curve(image, seeds[7]), lambda: image)
    u = tf.random.stateless_uniform([3], seeds[2])
    image = tf.cond(u[0] < 0.5, lambda: tf.cast(tf.image.stateless_random_jpeg_quality(
        tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8), 40, 95, seeds[3]), tf.float32), lambda: image)
    kernel = tf.constant([1.0, 2.0, 1.0])
    kernel = tf.tensordot(kernel, kernel, axes=0) / 16.0
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, image.shape[-1], 1])
    image = tf.cond(u[1] < 0.33, lambda: tf.nn.depthwise_conv2d(image[None], kernel, [1, 1, 1, 1], "SAME")[0],
                    lambda: image)
    sigma = tf.where(u[2] < 0.33, tf.random.stateless_uniform([], seeds[4], 0.0, 6.0), 0.0)
    image = image + sigma * tf.random.stateless_normal(tf.shape(image), seeds[5])
    return tf.clip_by_value(image, 0.0, 255.0)


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
