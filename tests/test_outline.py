"""The outline head: its loss is zero where no mask is known, its target is cropped as the image is,
its mask moves with the image through the augmentation, and a run with it trains, saves the
classifier alone and reports Dice."""
import json

import numpy as np
import pytest
from PIL import Image

from training.outline import OUTLINE_SIZE, CropMaskLikeImage, OutlineLoss


def _pair(logits, target):
    return np.stack([logits, target], axis=-1).astype(np.float32)


def test_the_outline_loss_is_zero_where_no_mask_is_known():
    rng = np.random.default_rng(0)
    target = np.zeros((3, 8, 8), np.float32)
    target[:, 2:5, 2:5] = 1
    wrong = _pair(rng.normal(0, 3, (3, 8, 8)), target)
    per_image = OutlineLoss().call(np.array([[0.0], [1.0], [0.0]]), wrong).numpy()
    assert per_image[0] == 0 and per_image[2] == 0
    assert per_image[1] > 0.5


def test_a_better_outline_has_a_lower_loss():
    target = np.zeros((1, 8, 8), np.float32)
    target[0, 2:5, 2:5] = 1
    right = OutlineLoss().call(np.ones((1, 1)), _pair(np.where(target > 0, 6.0, -6.0), target)).numpy()[0]
    wrong = OutlineLoss().call(np.ones((1, 1)), _pair(np.where(target > 0, -6.0, 6.0), target)).numpy()[0]
    assert right < 0.05 < 1.0 < wrong


def test_the_target_is_cropped_as_the_classifier_crops_its_image():
    import tensorflow as tf

    from mri.layers import CropToBrain

    image = np.zeros((1, 64, 64, 1), np.float32)
    image[0, 16:48, 20:44] = 100.0          # a head off-centre: the crop zooms and moves
    mask = np.zeros((1, 64, 64, 1), np.uint8)
    mask[0, 24:32, 24:32] = 1
    image[0, 24:32, 24:32] = 250.0
    cropped_image = CropToBrain()(tf.constant(image)).numpy()
    expected = tf.image.resize((cropped_image >= 200).astype(np.float32), [OUTLINE_SIZE, OUTLINE_SIZE],
                               method="area").numpy()
    target = CropMaskLikeImage()([tf.constant(image), tf.constant(mask)]).numpy()
    assert target.shape == (1, OUTLINE_SIZE, OUTLINE_SIZE, 1)
    assert np.abs((target >= 0.5).astype(float) - (expected >= 0.5)).mean() < 0.01
    assert (target >= 0.5).sum() > (mask.sum() / 4)   # zoomed in: larger than the mask at a quarter scale


def test_the_mask_moves_with_its_image_through_the_augmentation():
    from training.pipelines import make_dataset

    n, size = 8, 64
    pixels = np.zeros((n, size, size, 1), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        pixels[i, 8:56, 8:56] = 90
        pixels[i, 20 + i:34 + i, 24:38] = 250
        masks[i, 20 + i:34 + i, 24:38] = 1
    ds = make_dataset(pixels, np.zeros(n, np.int64), 4, training=True, intensity="curve", skull=False,
                      masks=masks, known=np.ones(n, bool))
    checked = 0
    for inputs, targets in ds.take(2):
        assert set(inputs) == {"image", "tumour_mask"} and set(targets) == {"probabilities", "outline"}
        for x, m in zip(inputs["image"].numpy(), inputs["tumour_mask"].numpy()):
            # The intensity curve may make the tumour darker than the head, never the same as it.
            head = x[..., 0][x[..., 0] > 5]
            tumour_like = np.abs(x[..., 0] - np.median(head)) > 20
            overlap = (tumour_like & (m[..., 0] >= 0.5)).sum() / max((m >= 0.5).sum(), 1)
            assert overlap > 0.7, "the mask did not follow its image"
            checked += 1
    assert checked == 8


@pytest.fixture
def masked_folder(tmp_path):
    """A collection of 'glioma' and 'notumor' slices with a -masks folder beside it."""
    from tests.conftest import blob_image

    rng = np.random.default_rng(3)
    root, masks = tmp_path / "coll-a", tmp_path / "coll-a-masks"
    masks.mkdir(parents=True)
    for label in ("glioma", "notumor"):
        (root / label).mkdir(parents=True)
        for i in range(10):
            image = blob_image(rng, 64, bright_spot=False)
            mask = np.zeros((64, 64), np.uint8)
            if label == "glioma":
                y, x = rng.integers(20, 36, 2)
                image[y:y + 8, x:x + 8], mask[y:y + 8, x:x + 8] = 240, 255
            name = f"a_p{i}_{label}_s00{i}"
            Image.fromarray(image).save(root / label / f"{name}.png")
            Image.fromarray(mask).save(masks / f"{name}.png")
    return root


def test_a_run_with_the_outline_saves_the_classifier_alone_and_reports_dice(masked_folder, tmp_path):
    from mri.layers import load_model
    from training.train import main

    out, report = tmp_path / "run", tmp_path / "reports" / "model.md"
    assert main(["--data", str(masked_folder), "--out", str(out), "--report", str(report), "--epochs", "1",
                 "--image-size", "64", "--batch-size", "8", "--cache-dir", "", "--outline-weight", "1"]) == 0
    classifier, outline = load_model(str(out / "model.h5")), load_model(str(out / "outline.h5"))
    assert len(classifier.outputs) == 1 and classifier.output.shape[-1] == 2
    assert not any(layer.name.startswith("outline") for layer in classifier.layers)
    drawn = outline.predict(np.zeros((2, 64, 64, 1), np.float32), verbose=0)
    assert drawn.shape == (2, OUTLINE_SIZE, OUTLINE_SIZE, 1) and (0 <= drawn).all() and (drawn <= 1).all()
    result = json.loads(report.with_suffix(".json").read_text())["results"][0]
    assert "coll-a" in result["outline"] and 0 <= result["outline"]["coll-a"]["mean_dice"] <= 1
    assert "tumour outline" in report.read_text()
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["labels"] == ["glioma", "notumor"]


def test_the_outline_stage_alone_leaves_a_trained_classifier_unchanged(masked_folder, tmp_path):
    from mri.layers import load_model
    from training.data import prepare_data
    from training.fit import train_model
    from training.settings import TrainingSettings
    from training.train import main

    first = tmp_path / "first"
    assert main(["--data", str(masked_folder), "--image-size", "64", "--batch-size", "8", "--cache-dir", "",
                 "--out", str(first), "--epochs", "1"]) == 0
    data = prepare_data([str(masked_folder)], 64, 1, 42, None)
    # epochs=0: no classifier epoch; the decoder alone learns on the frozen classifier.
    settings = TrainingSettings(image_size=64, batch_size=8, epochs=0, init_from=str(first / "model.h5"),
                                outline_weight=1, outline_epochs=2, patience=5)
    fitted = train_model(data, settings, verbose=0)
    # A training loss per epoch: the stage had images to learn from (not an empty pipeline).
    assert len(fitted.history["outline_stage_loss"]) == 2
    for a, b in zip(load_model(str(first / "model.h5")).get_weights(), fitted.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fitted.outline.output.shape[1:] == (OUTLINE_SIZE, OUTLINE_SIZE, 1)


def test_a_loco_fold_with_the_outline_reports_its_dice_on_the_masks_it_never_saw(masked_folder, image_folder,
                                                                               tmp_path):
    from training.loco.__main__ import main

    other = image_folder(per_class=10, size=64, classes=("glioma", "notumor"), seed=5, name="coll-b")
    report = tmp_path / "loco.md"
    assert main(["--data", str(masked_folder), str(other), "--hold-out", str(masked_folder), "--out",
                 str(tmp_path / "runs"), "--report", str(report), "--epochs", "1", "--image-size", "64",
                 "--batch-size", "8", "--cache-dir", "", "--outline-weight", "1"]) == 0
    fold = json.loads(report.with_suffix(".json").read_text())["folds"][0]
    # every one of coll-a's 10 tumour slices has a mask; none of its normal slices is scored
    assert fold["held_out"] == "coll-a" and fold["outline"]["slices"] == 10, fold.get("outline")
    assert 0 <= fold["outline"]["mean_dice"] <= 1
    assert (tmp_path / "runs" / "coll-a" / "outline.h5").is_file()
    assert "## The tumour outline on the collection left out" in report.read_text()
