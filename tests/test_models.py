"""Every registered model builds, takes raw pixels and returns class probabilities."""
import numpy as np
import pytest

from training.models import create_model, list_models


@pytest.mark.parametrize("name", list_models())
def test_model_forward(name):
    model = create_model(name, (128, 128, 1), 4)
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 128, 128, 1)).astype("float32")
    probabilities = model.predict(pixels, verbose=0)
    assert probabilities.shape == (2, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_registry_has_the_papers_models_and_ours():
    assert {"cnn", "alexnet", "lenet", "compact"} <= set(list_models())


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ValueError, match="known models: .*compact"):
        create_model("resnet9000", (32, 32, 1), 2)


def test_normalisation_is_inside_the_model():
    """Brightness and contrast changes of the raw pixels do not change the answer."""
    model = create_model("compact", (64, 64, 1), 3)
    pixels = np.random.default_rng(1).uniform(0, 120, (1, 64, 64, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(pixels, verbose=0), model.predict(pixels * 2 + 10, verbose=0), atol=1e-5)


def _head(size=128, centre=(64, 64), radius=30, letter=False):
    """A bright disk (the head) on black, optionally with a small burnt-in letter in a corner."""
    yy, xx = np.mgrid[:size, :size]
    image = (((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) < radius ** 2) * 150.0
    if letter:
        image[3:9, 120:125] = 255.0
    return image[None, :, :, None].astype("float32")


def _bright_box(image):
    rows, cols = np.where(image[0, :, :, 0] > 20)
    return rows.min(), rows.max(), cols.min(), cols.max()


def test_crop_to_brain_centres_and_enlarges_a_small_off_centre_head():
    from mri.layers import CropToBrain

    cropped = CropToBrain()(_head(centre=(45, 50), radius=36)).numpy()
    top, bottom, left, right = _bright_box(cropped)
    # The head now fills the frame up to the margin, centred, whatever its place and size.
    assert top <= 6 and bottom >= 121 and left <= 6 and right >= 121
    np.testing.assert_allclose(CropToBrain()(_head(centre=(80, 75), radius=36)).numpy(), cropped, atol=1.0)


def test_crop_to_brain_ignores_burnt_in_letters_and_keeps_black_images():
    from mri.layers import CropToBrain

    crop = CropToBrain()
    np.testing.assert_allclose(crop(_head(letter=True)).numpy()[:, 12:116, 12:116],
                               crop(_head()).numpy()[:, 12:116, 12:116], atol=1e-4)
    assert np.all(crop(np.zeros((2, 64, 64, 1), "float32")).numpy() == 0.0)
