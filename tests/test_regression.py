"""The shipping rule: a candidate whose figure on any collection falls more than a point is named."""
from training.regression import falls


def _report(**per_collection):
    return {"test": {"per_collection": per_collection}}


def test_a_fall_of_more_than_a_point_is_named_and_a_smaller_one_is_not():
    shipped = _report(**{
        "brain-mri-4class": {"accuracy": 0.90, "tumor_sensitivity": 0.98, "tumor_specificity": 0.97},
        "brain-mri-brats": {"accuracy": 0.85, "tumor_sensitivity": 0.84, "tumor_specificity": 0.86}})
    candidate = _report(**{
        "brain-mri-4class": {"accuracy": 0.895, "tumor_sensitivity": 0.99, "tumor_specificity": 0.95},
        "brain-mri-brats": {"accuracy": 0.70, "tumor_sensitivity": 0.90, "tumor_specificity": 0.86}})
    assert falls(shipped, candidate) == ["brain-mri-4class tumor_specificity: 97.0 -> 95.0 %"]


def test_a_collection_missing_from_the_candidate_is_a_fall():
    shipped = _report(**{"brain-mri-alzheimer-t1": {"accuracy": 1.0, "tumor_specificity": 1.0}})
    assert falls(shipped, _report()) == ["brain-mri-alzheimer-t1: not in the candidate's test subset"]


def test_the_bootstrap_interval_holds_zero_for_noise_and_not_for_a_real_fall():
    import numpy as np

    from training.evaluate import bootstrap_difference

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 10)  # 40 patients, 10 slices each
    shipped = rng.random(400) < 0.8
    # The same answers on every slice but a few, in both directions: within the noise.
    swapped = shipped.copy()
    swapped[rng.choice(400, 8, replace=False)] ^= True
    mean, low, high = bootstrap_difference(shipped, swapped, groups)
    assert low <= 0 <= high and low < mean < high
    # A candidate that misses half of what the shipped model found, on every patient: beyond it.
    worse = shipped & (np.arange(400) % 2 == 0)
    mean, low, high = bootstrap_difference(shipped, worse, groups)
    assert high < 0 and mean == -(shipped & (np.arange(400) % 2 == 1)).mean()
    # Paired: a model against itself differs by exactly 0, whatever the draw.
    assert bootstrap_difference(shipped, shipped, groups) == (0.0, 0.0, 0.0)
