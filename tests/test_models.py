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
