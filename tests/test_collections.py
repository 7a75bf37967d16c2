"""Training on many collections: patient groups, train-only patients, sequences, balanced sampling,
the shortcut-fighting augmentations, and leave-one-collection-out folds."""
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import blob_image, real_data
from training.folders import Record, load_images, scan_folders, sequence_of
from training.pipelines import sampling_weights
from training.split import TRAIN_ONLY_PATIENTS, group_near_duplicates, patient_of, split_by_groups

BRATS_PATIENTS = ["Brats18_2013_11_1", "Brats18_CBICA_AAB_1", "Brats18_TCIA01_201_1", "Brats18_TCIA02_370_1",
                  "Brats18_TCIA03_265_1", "Brats18_CBICA_ABM_1", "Brats18_2013_23_1", "Brats18_TCIA01_425_1",
                  *sorted(TRAIN_ONLY_PATIENTS)]


def _brats_like(root: Path, slices: int = 6) -> Path:
    """Co-registered look-alike slices of many patients, four sequences each, as BraTS names them."""
    rng = np.random.default_rng(2)
    base = blob_image(rng, 48, bright_spot=False)
    for patient in BRATS_PATIENTS:
        for sequence in ("flair", "t1", "t1ce", "t2"):
            for s in range(slices):
                label = "glioma" if s % 3 else "notumor"
                (root / label).mkdir(parents=True, exist_ok=True)
                noisy = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(noisy).save(root / label / f"{patient}_{sequence}_s{40 + 2 * s:03d}.png")
    return root


def test_each_brats_patient_is_one_group_on_one_side_and_tcga_lgg_patients_only_train(tmp_path):
    records = scan_folders([_brats_like(tmp_path / "brain-mri-brats")])
    _, thumbs, md5s, kept = load_images(records, 24, 24, 1, cache_dir=None)
    groups = group_near_duplicates(kept, thumbs, md5s)
    # Look-alike slices of different patients must not be joined by their thumbnails.
    assert len(set(groups.tolist())) == len(BRATS_PATIENTS)
    for seed in range(5):
        subsets = split_by_groups(kept, groups, seed=seed)
        sides = defaultdict(set)
        for r, s in zip(kept, subsets):
            sides[patient_of(r.path)].add(s)
        assert all(len(s) == 1 for s in sides.values())
        assert all(sides[p] == {"train"} for p in TRAIN_ONLY_PATIENTS)
        assert {"validation", "test"} <= set(subsets)


def test_openneuro_subjects_are_groups():
    assert patient_of("x/ds000177_sub-07_T1w_s101.jpg") == "ds000177_sub-07"
    assert patient_of("x/Brats18_CBICA_AAB_1_t1ce_s050.jpg") == "Brats18_CBICA_AAB_1"
    assert patient_of("x/TCGA_CS_4941_19960909_11.jpg") == "TCGA_CS_4941"
    assert patient_of("x/Te-glTr_0001.jpg") is None


@pytest.mark.parametrize("path, source, sequence", [
    ("b/Brats18_2013_11_1_flair_s044.jpg", "brain-mri-brats", "flair"),
    ("b/Brats18_2013_11_1_t1_s044.jpg", "brain-mri-brats", "t1"),
    ("b/Brats18_2013_11_1_t1ce_s044.jpg", "brain-mri-brats", "t1ce"),
    ("b/Brats18_2013_11_1_t2_s044.jpg", "brain-mri-brats", "t2"),
    ("o/ds000177_sub-01_T1w_s101.jpg", "brain-mri-openneuro-t1", "t1"),
    ("l/TCGA_CS_4941_19960909_11.jpg", "brain-mri-lgg-flair", "flair"),
    ("a/alz_test_MildDemented_26_19.jpg", "brain-mri-alzheimer-t1", "t1"),
    ("4/Te-glTr_0001.jpg", "brain-mri-4class", "unknown"),
    ("m/scan_t2star.png", "my-scans", "unknown"),
])
def test_sequence_from_file_or_collection_name(path, source, sequence):
    assert sequence_of(Record(path, "notumor", source)) == sequence


def test_skull_stripped_lookalikes_of_many_people_are_grouped_per_person(tmp_path):
    # Atlas-like slices: every person's slices correlate 0.97-0.98 with every other person's, so the
    # 0.95 rule would chain all into one group; slices of one person correlate > 0.99.
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[:64, :64] / 64
    brain = (((xx - 0.5) ** 2 / 0.16 + (yy - 0.5) ** 2 / 0.2) < 1) * 120.0
    folder = tmp_path / "alz" / "notumor"
    folder.mkdir(parents=True)
    for person in range(8):  # each person's own bright spot, spread on a circle
        cy, cx = 0.5 + 0.2 * np.sin(person * np.pi / 4), 0.5 + 0.2 * np.cos(person * np.pi / 4)
        own = 100 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.006) * (brain > 0)
        for s in range(4):
            image = brain + own + rng.normal(0, 3, (64, 64)) * (brain > 0)
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"alz_{person * 10 + s}.png")
    records = scan_folders([tmp_path / "alz"], min_classes=1)
    _, thumbs, md5s, kept = load_images(records, 32, 32, 1, cache_dir=None)
    groups = group_near_duplicates(kept, thumbs, md5s)
    by_person = defaultdict(set)
    for r, g in zip(kept, groups):
        by_person[int(Path(r.path).stem.split("_")[1]) // 10].add(int(g))
    assert all(len(g) == 1 for g in by_person.values())
    assert len(set(groups.tolist())) == 8


def test_balanced_sampling_lifts_small_strata_by_the_square_root():
    strata = ["a/tumour"] * 900 + ["b/normal"] * 100
    weights = sampling_weights(strata)
    share = {k: weights[np.array(strata) == k].sum() for k in set(strata)}
    assert share["a/tumour"] == pytest.approx(30 / 40) and share["b/normal"] == pytest.approx(10 / 40)
    assert np.allclose(weights[:900], weights[0]) and weights.sum() == pytest.approx(1.0)
    assert np.allclose(sampling_weights(strata, power=1.0), 1 / 1000)


def test_balanced_pipeline_draws_by_the_weights():
    from training.pipelines import make_dataset

    pixels = np.zeros((10, 8, 8, 1), np.float16)
    labels = np.array([0] * 9 + [1])
    weights = np.array([0.5 / 9] * 9 + [0.5])
    drawn = np.concatenate([y.numpy() for _, y in make_dataset(pixels, labels, 10, True, weights=weights,
                                                              epochs=40).take(40)])
    assert 0.4 < drawn.mean() < 0.6  # the single image of class 1 is half of what is drawn


# ------------------------------------------------------------------ augmentations

def _head(size=64, skull=True):
    yy, xx = np.mgrid[:size, :size] / size
    r2 = ((xx - 0.5) ** 2 / 0.12 + (yy - 0.5) ** 2 / 0.15)
    image = (r2 < 1) * 110.0 + ((r2 > 0.3) & (r2 < 0.45)) * 60.0  # brain with a darker band
    if skull:
        image += ((r2 >= 1) & (r2 < 1.3)) * 220.0  # bright scalp ring
    return image[..., None].astype(np.float32)


@pytest.mark.parametrize("name", ["random_intensity_curve", "random_tissue_intensities", "random_bias_field",
                                  "strip_skull", "add_skull", "random_background"])
def test_every_augmentation_keeps_shape_and_range(name):
    import tensorflow as tf

    from training import augment

    fn = getattr(augment, name)
    for s in range(5):
        out = fn(tf.constant(_head()), tf.constant([s, 1], tf.int64)).numpy()
        assert out.shape == (64, 64, 1) and out.min() >= 0.0 and out.max() <= 255.0 + 1e-3


@pytest.mark.parametrize("name", ["random_tissue_intensities", "random_bias_field", "invert_contrast",
                                  "random_intensity_curve"])
def test_intensity_augmentations_keep_black_background_black(name):
    import tensorflow as tf

    from training import augment

    image = _head()
    for s in range(5):
        args = (tf.constant(image),) if name == "invert_contrast" else (tf.constant(image),
                                                                        tf.constant([s, 2], tf.int64))
        out = getattr(augment, name)(*args).numpy()
        assert np.all(out[image == 0] == 0)


def test_contrast_inversion_makes_bright_tissue_darker_than_dark_tissue():
    import tensorflow as tf

    from training.augment import invert_contrast

    image = _head(skull=False)
    out = invert_contrast(tf.constant(image)).numpy()
    assert out[image == 170].mean() < out[image == 110].mean()


def test_tissue_intensities_can_swap_two_tissues():
    import tensorflow as tf

    from training.augment import random_tissue_intensities

    image = _head(skull=False)
    swapped = [random_tissue_intensities(tf.constant(image), tf.constant([s, 5], tf.int64)).numpy()
               for s in range(20)]
    assert any(o[image == 170].mean() < o[image == 110].mean() for o in swapped)
    assert any(o[image == 170].mean() > o[image == 110].mean() for o in swapped)


def test_skull_strip_removes_the_rim_and_leaves_the_brain_unchanged():
    import tensorflow as tf

    from training.augment import strip_skull

    image = _head(128, skull=True)
    yy, xx = np.mgrid[:128, :128] / 128
    r2 = ((xx - 0.5) ** 2 / 0.12 + (yy - 0.5) ** 2 / 0.15)
    for s in range(4):
        out = strip_skull(tf.constant(image), tf.constant([s, 3], tf.int64)).numpy()[..., 0]
        assert np.array_equal(out[r2 < 0.75], image[..., 0][r2 < 0.75])  # the brain's pixels, exactly
        assert out[(r2 > 1.2) & (r2 < 1.3)].max() == 0  # the scalp's outer part is gone
        assert set(np.unique(out)) <= set(np.unique(image))  # nothing new, only removed


def test_added_skull_surrounds_a_stripped_head_and_leaves_it_unchanged():
    import tensorflow as tf

    from training.augment import add_skull, head_mask

    image = _head(skull=False)
    inside = head_mask(tf.constant(image)).numpy()[..., 0] > 0
    out = add_skull(tf.constant(image), tf.constant([1, 4], tf.int64)).numpy()[..., 0]
    assert np.array_equal(out[inside], image[..., 0][inside])
    assert (out[~inside] > 0).sum() > 100  # a ring outside the head
    assert out[0, 0] == 0  # the frame's corner stays background


def test_head_mask_fills_dark_holes_inside_the_head():
    import tensorflow as tf

    from training.augment import head_mask

    image = _head(skull=False)
    image[28:36, 28:36] = 0  # a black ventricle
    mask = head_mask(tf.constant(image)).numpy()[..., 0]
    assert mask[28:36, 28:36].all() and mask[0, 0] == 0


# ------------------------------------------------------------------ leave one collection out

def test_each_loco_fold_trains_without_its_collection_and_judges_all_of_it(image_folder, tmp_path):
    from training.data import prepare_data
    from training.loco.__main__ import main

    a = image_folder(per_class=10, size=32, seed=1, name="coll-a")
    b = image_folder(per_class=10, size=32, seed=2, name="coll-b")
    normals = tmp_path / "coll-normal" / "notumor"
    normals.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(7):
        Image.fromarray(blob_image(rng, 32, False)).save(normals / f"n{i}.png")
    unseen = image_folder(per_class=6, size=32, seed=4, name="coll-unseen")
    report = tmp_path / "loco.md"
    data = [str(a), str(b), str(normals.parent)]
    assert main(["--data", *data, "--external", str(unseen), "--out", str(tmp_path / "runs"), "--report", str(report),
                 "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--cache-dir", ""]) == 0
    folds = {f["held_out"]: f for f in json.loads(report.with_suffix(".json").read_text())["folds"]}
    assert set(folds) == {"coll-a", "coll-b", "coll-normal"}
    for name, fold in folds.items():
        others = [d for d in data if Path(d).name != name]
        assert fold["trained_on"] == [Path(d).name for d in others]
        expected = prepare_data(others, 32, 1, cache_dir=None, labels=["notumor", "tumor"])
        assert fold["training_images"] == sum(s == "train" for s in expected.subsets)
        # judged on its own validation subset and on the whole unseen collection, every fold
        assert set(fold["validation"]) >= {"accuracy", "macro_f1", "tumor_roc_auc"}
        assert fold["external"]["coll-unseen"]["tumor_images"] == 6
        assert fold["external"]["coll-unseen"]["no_tumor_images"] == 6
    assert (folds["coll-a"]["tumor_images"], folds["coll-a"]["no_tumor_images"]) == (10, 10)
    assert folds["coll-normal"]["tumor_images"] == 0 and folds["coll-normal"]["tumor_sensitivity"] is None
    text = report.read_text()
    assert "| coll-normal | 7 (0 / 7) | – |" in text and "python -m training.loco" in text


def test_loco_refuses_a_hold_out_that_is_not_among_the_data(image_folder):
    from training.loco.__main__ import parse_args

    a = image_folder(name="a")
    b = image_folder(name="b", seed=2)
    with pytest.raises(SystemExit):
        parse_args(["--data", str(a), str(b), "--hold-out", "elsewhere", "--out", "x", "--report", "x.md"])
    with pytest.raises(SystemExit):  # an unseen collection that a fold trains on is not unseen
        parse_args(["--data", str(a), str(b), "--external", str(b), "--out", "x", "--report", "x.md"])


def test_real_collections_follow_the_split_rules():
    # The five training collections as shipped: BraTS by patient, TCGA-LGG BraTS patients in training.
    brats = real_data("brain-mri-brats")
    records = [r for r in scan_folders([brats]) if patient_of(r.path) in TRAIN_ONLY_PATIENTS]
    assert len({patient_of(r.path) for r in records}) == 4
    assert Counter(sequence_of(r) for r in scan_folders([brats])).keys() == {"flair", "t1", "t1ce", "t2"}


def test_a_fold_finished_under_other_flags_is_kept_only_where_it_trained_as_now(tmp_path):
    from training.loco.__main__ import parse_args
    from training.loco.folds import finished_fold, fold_file, fold_settings

    args = parse_args(["--data", str(tmp_path / "a"), str(tmp_path / "b"), "--out", "x",
                       "--report", str(tmp_path / "loco.md")])
    now = json.loads(json.dumps(fold_settings(args)))

    def saved(settings):
        path = fold_file(str(tmp_path / "a"), args)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"settings": settings, "fold": {"held_out": "a"}}))
        return finished_fold(str(tmp_path / "a"), args)

    assert saved(now) == {"held_out": "a"}
    assert saved({k: v for k, v in now.items() if k != "outline_weight"}) == {"held_out": "a"}  # added since, default
    assert saved(now | {"retired_method": 0.0}) == {"held_out": "a"}                           # retired since, off
    assert saved(now | {"retired_method": 0.5}) is None                                         # trained with it
    assert saved(now | {"seed": 7}) is None
