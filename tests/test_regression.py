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
