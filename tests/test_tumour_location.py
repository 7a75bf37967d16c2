"""Where the tumour is: expert masks beside their images, tumour copy-paste across collections,
tumours of other types (loss on p(tumour) alone), a kept split, and leave-one-collection-out that
resumes from finished folds."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import blob_image, real_data
from training.folders import Record, mask_path, read_mask, scan_folders
from training.split import keep_split, split_by_groups

MASKED = ("brain-mri-brats", "brain-mri-lgg-flair", "brain-mri-utsw-glioma-t2", "brain-mri-fets2021-t2",
          "brain-mri-brats2023-flair", "brain-mri-upenn-gbm-t2")


@pytest.mark.parametrize("collection", MASKED)
def test_every_image_of_a_masked_collection_has_its_mask_of_its_size(collection):
    records = scan_folders([real_data(collection)], min_classes=1)
    missing, wrong_size, empty_tumour, tumour_in_normal = [], [], [], []
    for record in records:
        path = mask_path(record)
        if path is None:
            missing.append(record.path)
            continue
        with Image.open(path) as mask, Image.open(record.path) as image:
            if mask.size != image.size:
                wrong_size.append(record.path)
            pixels = np.asarray(mask)
        if record.label == "glioma" and not pixels.any():
            empty_tumour.append(record.path)
        if record.label == "notumor" and pixels.any():
            tumour_in_normal.append(record.path)
    assert not missing and not wrong_size and not empty_tumour and not tumour_in_normal


def _head(size=64, seed=0):
    return blob_image(np.random.default_rng(seed), size, bright_spot=False).astype(np.float32)[..., None]


def test_a_pasted_tumour_lies_inside_the_host_head_and_leaves_the_rest_unchanged():
    import tensorflow as tf

    from training.augment import head_mask, paste_tumour

    host = _head(seed=1)
    donor = _head(seed=2)
    mask = np.zeros((64, 64, 1), np.float32)
    mask[20:30, 24:34] = 1
    donor[20:30, 24:34] = 230.0
    for seed in range(6):
        out, region = (t.numpy() for t in paste_tumour(tf.constant(host), tf.constant(donor), tf.constant(mask),
                                                        tf.constant([seed, 7], tf.int64)))
        assert region.sum() >= 20
        assert (region <= head_mask(tf.constant(host)).numpy()).all(), "pasted outside the head"
        assert np.array_equal(out[region == 0], host[region == 0]), "a host pixel outside the tumour changed"
        assert np.abs(out - host)[region > 0].mean() > 20, "no tumour visible"


def test_a_tumour_that_misses_the_head_shows_the_donor_itself():
    import tensorflow as tf

    from training.augment import paste_tumour

    out, region = paste_tumour(tf.zeros((64, 64, 1)), tf.constant(_head(seed=2)),
                               tf.constant(np.pad(np.ones((8, 8, 1), np.float32), ((20, 36), (20, 36), (0, 0)))),
                               tf.constant([0, 1], tf.int64))
    assert np.array_equal(out.numpy(), _head(seed=2)), "an empty host must not be labelled glioma"


def test_pastes_replace_only_glioma_draws_with_hosts_of_another_collection():
    from training.pipelines import plan_pastes

    y = np.array([0, 0, 0, 1, 1, 1, 1, 2])           # glioma 0, notumor 1, 2 another tumour
    sources = ["brats", "brats", "lgg", "brats", "ixi", "ixi", "lgg", "4class"]
    sequences = ["t1", "flair", "flair", "t1", "t1", "t1", "flair", "unknown"]
    area = np.array([50, 50, 0, 0, 0, 0, 0, 0])       # the LGG glioma has no mask
    order = np.random.default_rng(0).integers(0, len(y), 2000)
    plan = plan_pastes(order, y, sources, sequences, area, glioma=0, notumor=1, share=0.5, seed=3)
    pasted = plan.donor >= 0
    assert 0.3 < pasted[y[order] == 0].mean() < 0.7
    assert not pasted[y[order] != 0].any(), "only glioma draws may become pastes: the class balance stays"
    assert set(plan.donor[pasted]) <= {0, 1}
    for host, donor in zip(plan.image[pasted], plan.donor[pasted]):
        assert y[host] == 1 and sources[host] != sources[donor] and sequences[host] == sequences[donor]
    assert np.array_equal(plan.image[~pasted], order[~pasted])


def test_pasted_draws_come_out_of_the_pipeline_labelled_glioma():
    from training.pipelines import PastePlan, make_dataset

    pixels = np.stack([_head(32, s) for s in range(4)]).astype(np.float16)
    labels = np.array([0, 1, 1, 1])
    masks = np.zeros((4, 32, 32), np.uint8)
    masks[0, 10:18, 10:18] = 1
    def pastes(order):
        return PastePlan(np.array([1, 2, 3, 1]), np.array([0, -1, 0, -1]))

    ds = make_dataset(pixels, labels, 4, training=True, weights=np.full(4, 0.25), pastes=pastes, masks=masks, glioma=0)
    _, y = next(iter(ds))
    assert y.numpy().tolist() == [0, 1, 0, 1]


def test_an_other_type_tumour_is_judged_on_p_notumor_alone():
    from training.models import TumourAwareLoss

    loss = TumourAwareLoss(notumor=2, classes=4, reduction=None)
    other = np.array([4, 4, 4])
    # The same p(notumor), the rest shared out differently: the same loss.
    p = np.array([[0.6, 0.1, 0.2, 0.1], [0.1, 0.1, 0.2, 0.6], [0.3, 0.3, 0.2, 0.2]], np.float32)
    values = np.asarray(loss(other, p))
    assert np.allclose(values, -np.log(0.8))
    more_normal = np.asarray(loss(other[:1], np.array([[0.3, 0.1, 0.5, 0.1]], np.float32)))
    assert more_normal[0] > values[0]
    # A known label is plain cross-entropy.
    assert np.isclose(np.asarray(loss(np.array([3]), p[:1]))[0], -np.log(0.1))


def test_other_type_tumours_count_as_tumours_not_as_a_class():
    from training.evaluate import classification_metrics

    labels = ["glioma", "meningioma", "notumor", "pituitary"]
    p = np.array([[0.9, 0, 0.1, 0], [0, 0, 1.0, 0], [0.1, 0.1, 0.6, 0.2], [0, 0, 0.2, 0.8]])
    m = classification_metrics(p, np.array([0, 2, 4, 4]), labels, "notumor")
    assert m["n"] == 2 and m["accuracy"] == 1.0 and m["other_type_tumours"] == 2
    assert m["tumor_images"] == 3 and m["tumor_sensitivity"] == pytest.approx(2 / 3)


def test_a_kept_split_keeps_the_listed_images_and_splits_new_ones():
    records = [Record(f"/d/old/c/{i}.png", "notumor" if i % 2 else "glioma", "old") for i in range(40)]
    records += [Record(f"/d/new/c/{i}.png", "notumor", "new") for i in range(40)]
    groups = np.arange(80)
    earlier = {("old", r.label, Path(r.path).name): "test" if i < 10 else "train" for i, r in enumerate(records[:40])}
    subsets = keep_split(records, groups, earlier)
    assert subsets[:10] == ["test"] * 10 and subsets[10:40] == ["train"] * 30
    assert subsets[40:] == split_by_groups(records[40:], groups[40:])
    # A new image in a group with a listed test image goes to test with it.
    groups[45] = 3
    assert keep_split(records, groups, earlier)[45] == "test"


def test_read_mask_follows_the_image_resize(tmp_path):
    mask = np.zeros((40, 40), np.uint8)
    mask[10:30, 0:20] = 4
    Image.fromarray(mask).save(tmp_path / "m.png")
    small = read_mask(tmp_path / "m.png", 20, 20)
    assert small.dtype == np.uint8 and set(np.unique(small)) == {0, 1}
    assert small[5:15, 0:10].all() and not small[:, 12:].any()


def test_loco_resume_keeps_a_finished_fold_and_reruns_an_unfinished_one(image_folder, tmp_path):
    from training.loco.__main__ import main

    a = image_folder(per_class=8, size=32, seed=1, name="coll-a")
    b = image_folder(per_class=8, size=32, seed=2, name="coll-b")
    c = image_folder(per_class=8, size=32, seed=3, name="coll-c")
    report = tmp_path / "reports" / "loco.md"
    flags = ["--data", str(a), str(b), str(c), "--out", str(tmp_path / "runs"), "--report", str(report),
             "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--cache-dir", ""]
    assert main(flags + ["--hold-out", str(a)]) == 0
    finished = report.with_suffix("") / "coll-a.json"
    before = json.loads(finished.read_text())
    before["fold"]["train_seconds"] = 12345.0   # a mark: kept folds are read back, not retrained
    finished.write_text(json.dumps(before))
    assert main(flags + ["--resume"]) == 0
    folds = {f["held_out"]: f for f in json.loads(report.with_suffix(".json").read_text())["folds"]}
    assert set(folds) == {"coll-a", "coll-b", "coll-c"}
    assert folds["coll-a"]["train_seconds"] == 12345.0
    assert folds["coll-b"]["train_seconds"] != 12345.0 and (report.with_suffix("") / "coll-b.json").is_file()
    # Other settings: the fold is not the same experiment and runs again.
    assert main(flags + ["--resume", "--hold-out", str(a), "--learning-rate", "0.01"]) == 0
    assert json.loads(finished.read_text())["fold"]["train_seconds"] != 12345.0


def test_loco_resume_continues_an_interrupted_fold_from_its_last_finished_epoch(image_folder, tmp_path, monkeypatch):
    from training import fit
    from training.loco.__main__ import main

    a = image_folder(per_class=8, size=32, seed=1, name="coll-a")
    b = image_folder(per_class=8, size=32, seed=2, name="coll-b")
    report = tmp_path / "reports" / "loco.md"
    flags = ["--data", str(a), str(b), "--hold-out", str(a), "--out", str(tmp_path / "runs"), "--report", str(report),
             "--epochs", "3", "--image-size", "32", "--batch-size", "8", "--cache-dir", "", "--resume"]
    ends = []

    def killed_in_the_second(self, epoch, logs=None):
        ends.append(epoch)
        if len(ends) == 2:
            raise KeyboardInterrupt   # the session ends before the second epoch is saved

    monkeypatch.setattr(fit.TimeBudget, "on_epoch_end", killed_in_the_second)
    with pytest.raises(KeyboardInterrupt):
        main(flags)
    partial = report.with_suffix("") / "partial" / "coll-a"
    assert json.loads((partial / "training_metadata.json").read_text())["epoch"] == 1
    assert not (report.with_suffix("") / "coll-a.json").exists()
    assert main(flags) == 0
    assert ends == [0, 1, 1, 2], "the resumed fold did not continue after its saved epoch"
    fold = json.loads((report.with_suffix("") / "coll-a.json").read_text())["fold"]
    assert fold["epochs_run"] == 3 and not partial.exists()
