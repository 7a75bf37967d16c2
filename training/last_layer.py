"""Deep feature reweighting (Kirichenko, Izmailov & Wilson 2022, "Last layer re-training is
sufficient for robustness to spurious correlations"): keep the trained features, refit only the
classifier on held-back images drawn evenly from every collection x class, so that a collection's
look cannot buy a class more weight than its images earn.

The held-back images are half of the validation subset, by near-duplicate group; the other half
judges the result, beside whole collections no model here was trained on. The test subset is
never used.
"""
from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from mri.contract import find_no_tumor_label
from training.data import PreparedData, sampling_weights
from training.evaluate import classification_metrics, per_group_metrics, predict_probabilities
from training.folds import VALIDATION_KEYS, held_out_figures
from training.report import percent, score

# Inverse regularisation strengths tried, chosen by grouped cross-validation on the refit half.
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
# A class without refit images (a fold whose collections lack it) keeps no weight: its logit is
# pinned this low, so it takes no probability it did not earn.
ABSENT_CLASS_BIAS = -20.0


def halve_validation(data: PreparedData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into data) of the refit half and the check half of the validation subset, by whole
    near-duplicate groups, so no near-twin of a refit image judges the refit."""
    val = np.flatnonzero(data.mask("validation"))
    groups = np.unique(data.groups[val])
    rng = np.random.default_rng(seed)
    refit_groups = set(rng.permutation(groups)[: len(groups) // 2].tolist())
    in_refit = np.array([int(g) in refit_groups for g in data.groups[val]])
    return val[in_refit], val[~in_refit]


def penultimate(model):
    """The model up to the classifier's input (global average pooling, dropout inactive)."""
    return keras.Model(model.inputs, model.get_layer("probabilities").input)


def strata_of(data: PreparedData, index: np.ndarray) -> list[str]:
    return [f"{data.records[i].source}/{data.labels[data.y[i]]}" for i in index]


def fit_last_layer(features: np.ndarray, y: np.ndarray, strata: list[str], groups: np.ndarray,
                   classes: int, seed: int, power: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """A softmax classifier on fixed features, each collection x class weighted by n ** power of its
    images (0: evenly, training.data.sampling_weights); its C by grouped 3-fold cross-validation on
    the same weighted log-loss. Returns the Dense kernel [features, classes], bias [classes], C."""
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError(f"The refit images hold one class only ({present.tolist()}): the validation subset is too small.")
    weights = sampling_weights(strata, power) * len(y)
    columns = {k: j for j, k in enumerate(present)}
    # Folds whose training part lacks a class cannot score every held image: left out.
    folds = [(train, held) for train, held in GroupKFold(n_splits=min(3, len(np.unique(groups)))).split(features, y, groups)
             if set(y[train]) == set(present)]

    def fitted(c, rows):
        return LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(
            features[rows], y[rows], sample_weight=weights[rows])

    def cv_loss(c):
        loss = 0.0
        for train, held in folds:
            p = np.clip(fitted(c, train).predict_proba(features[held]), 1e-7, 1.0)
            loss -= float(np.sum(weights[held] * np.log(p[np.arange(len(held)), [columns[k] for k in y[held]]])))
        return loss

    best = min(C_GRID, key=cv_loss) if folds else 1.0
    lr = fitted(best, np.arange(len(y)))
    kernel = np.zeros((features.shape[1], classes), np.float32)
    bias = np.full(classes, ABSENT_CLASS_BIAS, np.float32)
    coef, intercept = lr.coef_, lr.intercept_
    if len(lr.classes_) == 2:
        # Two classes come back as one logit (class 1 vs 0); softmax over (-z/2, z/2) is the same model.
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    kernel[:, lr.classes_] = coef.T
    bias[lr.classes_] = intercept
    return kernel, bias, best


def retrain_last_layer(model, data: PreparedData, seed: int, power: float = 0.0):
    """A copy of `model` whose classifier is refit on the balanced refit half; returns it, the
    check half's indices and what was fitted."""
    refit, check = halve_validation(data, seed)
    features = predict_probabilities(penultimate(model), data.pixels[refit])
    kernel, bias, c = fit_last_layer(features, data.y[refit], strata_of(data, refit), data.groups[refit],
                                     len(data.labels), seed, power)
    reweighted = keras.models.clone_model(model)
    reweighted.set_weights(model.get_weights())
    reweighted.get_layer("probabilities").set_weights([kernel, bias])
    fitted = {"refit_images": int(len(refit)), "check_images": int(len(check)), "C": c, "power": power,
              "refit_strata": dict(zip(*np.unique(strata_of(data, refit), return_counts=True)))}
    fitted["refit_strata"] = {k: int(v) for k, v in fitted["refit_strata"].items()}
    return reweighted, check, fitted


def judge(model, data: PreparedData, check: np.ndarray, judged: list[str], cache_dir: str | None) -> dict:
    """Check-half figures (pooled and per collection) and whole-collection figures for one model."""
    no_tumor = find_no_tumor_label(data.labels)
    p = predict_probabilities(model, data.pixels[check])
    pooled = classification_metrics(p, data.y[check], data.labels, no_tumor)
    sources = [data.records[i].source for i in check]
    return {"check": {k: pooled[k] for k in VALIDATION_KEYS},
            "check_per_collection": per_group_metrics(p, data.y[check], sources, data.labels, no_tumor),
            "collections": {Path(d).name: held_out_figures(model, data.labels, d, data.input_shape, cache_dir)
                            for d in judged}}


def write_report(before: dict, after: dict, fitted: dict, model_path: str, command: str, path: Path) -> None:
    def row(name, b, a, key):
        return f"| {name} | {percent(b.get(key))} → {percent(a.get(key))} |"

    lines = ["# Last-layer retraining (deep feature reweighting)", "",
             f"Model `{model_path}`: features kept, classifier refit on {fitted['refit_images']} validation images "
             f"(half the validation groups), each collection × class weighted by n^{fitted['power']:g} of its images "
             f"(0: evenly), C = {fitted['C']:g} by grouped "
             f"cross-validation. Judged on the other {fitted['check_images']} validation images and on whole "
             "collections the model never trained on; never on the test subset. Rerun:", "",
             "```", command, "```", "",
             "## Check half of the validation subset (before → after)", "",
             "| measure | before → after |", "|---|---:|"]
    for name, key in (("accuracy", "accuracy"), ("tumour sensitivity", "tumor_sensitivity"),
                      ("specificity", "tumor_specificity")):
        lines.append(row(name, before["check"], after["check"], key))
    lines.append(f"| macro-F1 | {score(before['check']['macro_f1'])} → {score(after['check']['macro_f1'])} |")
    lines.append(f"| ROC AUC | {score(before['check']['tumor_roc_auc'])} → {score(after['check']['tumor_roc_auc'])} |")
    lines += ["", "| collection (check half) | sensitivity before → after | specificity before → after | ROC AUC before → after |",
              "|---|---:|---:|---:|"]
    for name, b in before["check_per_collection"].items():
        a = after["check_per_collection"][name]
        lines.append(f"| {name} | {percent(b.get('tumor_sensitivity'))} → {percent(a.get('tumor_sensitivity'))} | "
                     f"{percent(b.get('tumor_specificity'))} → {percent(a.get('tumor_specificity'))} | "
                     f"{score(b.get('tumor_roc_auc'))} → {score(a.get('tumor_roc_auc'))} |")
    if before["collections"]:
        lines += ["", "## Whole collections never trained on (before → after)", "",
                  "| collection / sequence | sensitivity | specificity | ROC AUC |", "|---|---:|---:|---:|"]
        for name, b in before["collections"].items():
            a = after["collections"][name]
            parts = [(name, b, a)] + [(f"{name} {s}", b["per_sequence"][s], a["per_sequence"][s])
                                      for s in b.get("per_sequence", {})]
            for label, bb, aa in parts:
                lines.append(f"| {label} | {percent(bb.get('tumor_sensitivity'))} → {percent(aa.get('tumor_sensitivity'))} | "
                             f"{percent(bb.get('tumor_specificity'))} → {percent(aa.get('tumor_specificity'))} | "
                             f"{score(bb.get('tumor_roc_auc'))} → {score(aa.get('tumor_roc_auc'))} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps({"model": model_path, "fitted": fitted, "before": before,
                                                     "after": after}, indent=2) + "\n")
