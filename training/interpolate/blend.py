"""Two models of one architecture blended weight by weight, and blends judged on validation."""
from __future__ import annotations

import keras

from training.data import PreparedData
from training.evaluate import classification_metrics, per_group_metrics, predict_probabilities
from training.regression import falls


def blended_weights(first: list, second: list, alpha: float) -> list:
    """Two models' weight lists (get_weights()), each weight moved `alpha` of the way from first to second."""
    if [w.shape for w in first] != [w.shape for w in second]:
        raise ValueError("The two models differ in architecture; only models of one architecture blend.")
    return [(1.0 - alpha) * a + alpha * b for a, b in zip(first, second)]


def interpolate(start: keras.Model, tuned: keras.Model, alpha: float) -> keras.Model:
    """`start` with every weight (batch-norm statistics too) moved `alpha` of the way to `tuned`'s."""
    start.set_weights(blended_weights(start.get_weights(), tuned.get_weights(), alpha))
    return start


def judge_on_validation(start: keras.Model, tuned: keras.Model, alphas: list[float], data: PreparedData) -> list[dict]:
    """Per alpha: validation accuracy, macro-F1, tumour sensitivity / specificity, and the
    collections' falls against alpha 0 (the start). `start` ends holding the last blend."""
    x_val, y_val = data.subset("validation")
    sources = data.sources[data.mask("validation")]
    first, second = start.get_weights(), tuned.get_weights()
    rows, start_figures = [], None
    for alpha in sorted(alphas):
        start.set_weights(blended_weights(first, second, alpha))
        p = predict_probabilities(start, x_val)
        pooled = classification_metrics(p, y_val, data.labels, data.no_tumor_label)
        figures = {"per_collection": per_group_metrics(p, y_val, sources, data.labels, data.no_tumor_label)}
        start_figures = start_figures or figures
        rows.append({"alpha": alpha, "accuracy": pooled["accuracy"], "macro_f1": pooled["macro_f1"],
                     "tumor_sensitivity": pooled.get("tumor_sensitivity"),
                     "tumor_specificity": pooled.get("tumor_specificity"),
                     "falls": falls({"test": start_figures}, {"test": figures})})
    return rows
