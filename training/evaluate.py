"""Held-out figures for a trained model: the numbers the reports and metadata.json carry, on the
split's subsets and on whole collections absent from training; and the choice between models.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

from mri.contract import find_no_tumor_label, read_metadata
from mri.layers import load_model
from training.data import PreparedData, prepare_data
from training.folders import labels_of, load_images, scan_folders
from training.split import NEAR_DUPLICATE_CORRELATION, thumbnail_similarity

CALIBRATION_BINS = 15
# A tumour is called at this tumour probability: the held-out figures' cut-off (the page's "likely").
TUMOUR_THRESHOLD = 0.5
# Two validation macro-F1 scores closer than this are a tie, broken by file size, then speed.
TIE = 0.005


def predict_probabilities(model, pixels: np.ndarray, batch_size: int = 128) -> np.ndarray:
    return model.predict(pixels.astype(np.float32), batch_size=batch_size, verbose=0)


def tumor_probability(probabilities: np.ndarray, labels: list[str], no_tumor_label: str | None) -> np.ndarray | None:
    """P(tumour) = 1 - P(no tumour); None when the label set has no no-tumour class."""
    if no_tumor_label is None:
        return None
    return 1.0 - probabilities[:, labels.index(no_tumor_label)]


def expected_calibration_error(probabilities: np.ndarray, y_true: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def classification_metrics(probabilities: np.ndarray, y_true: np.ndarray, labels: list[str],
                           no_tumor_label: str | None) -> dict:
    """Accuracy, per-class P/R/F1, macro-F1, confusion, tumour-vs-none sensitivity etc., ECE. A
    tumour of none of the output types (y outside 0..classes-1) counts in the tumour figures only."""
    tumor_p = tumor_probability(probabilities, labels, no_tumor_label)
    is_tumor = y_true != labels.index(no_tumor_label) if tumor_p is not None else None
    known = (y_true >= 0) & (y_true < len(labels))
    probabilities, y_true = probabilities[known], y_true[known]
    y_pred = probabilities.argmax(axis=1)
    classes = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0)
    metrics = {
        "n": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()),
        "macro_f1": float(f1.mean()),
        "per_class": {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
        "ece": expected_calibration_error(probabilities, y_true),
    }
    if tumor_p is not None:
        metrics["other_type_tumours"] = int((~known).sum())
        metrics.update(tumor_detection_metrics(tumor_p, is_tumor))
    return metrics


def per_group_metrics(probabilities: np.ndarray, y_true: np.ndarray, groups: list[str],
                      labels: list[str], no_tumor_label: str | None) -> dict:
    """Accuracy and tumour sensitivity / specificity / ROC AUC within each group of images (a
    source collection, an MRI sequence), so a pooled figure cannot hide one the model handles
    much worse than the others."""
    groups = np.asarray(groups)
    out = {}
    for name in sorted(set(groups.tolist())):
        mask = groups == name
        y, p = y_true[mask], probabilities[mask]
        known = (y >= 0) & (y < len(labels))
        figures = {"n": int(mask.sum()),
                   "accuracy": float((p[known].argmax(axis=1) == y[known]).mean()) if known.any() else None}
        tumor_p = tumor_probability(p, labels, no_tumor_label)
        if tumor_p is not None:
            figures.update(tumor_detection_metrics(tumor_p, y != labels.index(no_tumor_label)))
        out[name] = figures
    return out


def tumor_detection_metrics(tumor_p: np.ndarray, is_tumor: np.ndarray, threshold: float = TUMOUR_THRESHOLD) -> dict:
    called = tumor_p >= threshold
    out = {
        "tumor_sensitivity": float(called[is_tumor].mean()) if is_tumor.any() else None,
        "tumor_specificity": float((~called[~is_tumor]).mean()) if (~is_tumor).any() else None,
        "tumor_images": int(is_tumor.sum()),
        "no_tumor_images": int((~is_tumor).sum()),
    }
    out["tumor_roc_auc"] = float(roc_auc_score(is_tumor, tumor_p)) if 0 < is_tumor.sum() < len(is_tumor) else None
    return out


def load_with_split(model_path: str, data_dirs: list[str], seed: int, cache_dir: str | None):
    """A trained model and the same seeded split of the folders it was trained on. Refuses folders
    whose labels differ from the model's (metadata.json beside it) or that have no no-tumour class
    before loading the model and decoding the images, the slow parts."""
    labels = labels_of(scan_folders(data_dirs))
    metadata = Path(model_path).with_name("metadata.json")
    trained_on = list(read_metadata(metadata).labels) if metadata.exists() else labels
    if trained_on != labels:
        raise SystemExit(f"{model_path} was trained on labels {trained_on}, but --data has {labels}: "
                         "pass the folders it was trained on.")
    if find_no_tumor_label(labels) is None:
        raise SystemExit(f"No no-tumour class among {labels}: tumour detection needs one.")
    model = load_model(model_path)
    height, _, channels = model.input_shape[1:]
    return model, prepare_data(data_dirs, height, channels, seed, cache_dir)


def cpu_ms_per_image(model, input_shape: tuple[int, int, int], repeats: int = 50) -> float:
    """Median Keras CPU milliseconds for one image at batch 1 (after a warm-up)."""
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    x = tf.random.uniform((1, *input_shape), 0, 255)
    for _ in range(5):
        predict(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(x).numpy()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def plot_confusion(matrix: list[list[int]], labels: list[str], title: str, path: str) -> None:
    m = np.array(matrix)
    fig = Figure(figsize=(1.2 * len(labels) + 2, 1.2 * len(labels) + 1.5))
    ax = fig.subplots()
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def external_predictions(model, data: PreparedData, external_dir: str, cache_dir: str | None):
    """Tumour probability, truth and "has a near-twin in our training data" for every image of a
    collection absent from training (its no-tumour class by name; every other class is a tumour)."""
    records = scan_folders([external_dir])
    ext_no_tumor = find_no_tumor_label(sorted({r.label for r in records}))
    h, w, c = data.input_shape
    pixels, thumbs, _, kept = load_images(records, h, w, c, cache_dir)
    tumor_p = tumor_probability(predict_probabilities(model, pixels), data.labels, data.no_tumor_label)
    is_tumor = np.array([r.label != ext_no_tumor for r in kept])
    # Near-twins of training images (any collection): the split's own thumbnail rule.
    twin = thumbnail_similarity(thumbs, data.thumbnails[data.mask("train")]).max(axis=1) >= NEAR_DUPLICATE_CORRELATION
    return tumor_p, is_tumor, twin


def external_check(model, data: PreparedData, external_dir: str, cache_dir: str | None) -> dict:
    """Tumour detection on a collection absent from training: sensitivity on its tumour class(es),
    specificity on its no-tumour class. Images with a near-twin in the training data are counted
    and also left out in a second figure, so an overlap between collections cannot flatter us."""
    tumor_p, is_tumor, twin = external_predictions(model, data, external_dir, cache_dir)
    result = {"data": str(external_dir), **tumor_detection_metrics(tumor_p, is_tumor)}
    result["near_twins_in_training"] = int(twin.sum())
    if twin.any():
        result["without_twins"] = tumor_detection_metrics(tumor_p[~twin], is_tumor[~twin])
    return result


def evaluate_model(name: str, model, data: PreparedData, history: dict, seconds: float, run_dir: Path,
                   externals: list[str], cache_dir: str | None) -> dict:
    """Every held-out figure of a trained model; writes confusion.png and confusion.json to run_dir."""
    no_tumor = data.no_tumor_label
    x_val, y_val = data.subset("validation")
    x_test, y_test = data.subset("test")
    validation = classification_metrics(predict_probabilities(model, x_val), y_val, data.labels, no_tumor)
    test_p = predict_probabilities(model, x_test)
    test = classification_metrics(test_p, y_test, data.labels, no_tumor)
    test_sources = data.sources[data.mask("test")]
    if len(set(test_sources)) > 1:
        test["per_collection"] = per_group_metrics(test_p, y_test, test_sources, data.labels, no_tumor)
    test_sequences = data.sequences[data.mask("test")]
    if set(test_sequences) - {"unknown"}:
        test["per_sequence"] = per_group_metrics(test_p, y_test, test_sequences, data.labels, no_tumor)
    plot_confusion(test["confusion_matrix"], data.labels, f"{name}: test subset", str(run_dir / "confusion.png"))
    result = {
        "model": name,
        "parameters": int(model.count_params()),
        "file_bytes": (run_dir / "model.h5").stat().st_size,
        "cpu_ms_per_image": cpu_ms_per_image(model, data.input_shape),
        "train_seconds": round(seconds, 1),
        "epochs_run": len(history.get("loss", [])),
        "validation_macro_f1": validation["macro_f1"],
        "test": test,
        "external": [external_check(model, data, d, cache_dir) for d in externals] if no_tumor else [],
    }
    result["accuracy_per_mb"] = test["accuracy"] / (result["file_bytes"] / 1e6)
    result["accuracy_per_ms"] = test["accuracy"] / result["cpu_ms_per_image"]
    (run_dir / "confusion.json").write_text(json.dumps(
        {"labels": data.labels, "test": test["confusion_matrix"]}, indent=2) + "\n")
    return result


def pick_winner(results: list[dict]) -> dict:
    """Best validation macro-F1; within TIE of the best, the smallest file, then the fastest."""
    best = max(r["validation_macro_f1"] for r in results)
    contenders = [r for r in results if r["validation_macro_f1"] >= best - TIE]
    return min(contenders, key=lambda r: (r["file_bytes"], r["cpu_ms_per_image"]))


def bootstrap_difference(value_a: np.ndarray, value_b: np.ndarray, groups: np.ndarray, rounds: int = 2000,
                         seed: int = 0) -> tuple[float, float, float]:
    """Mean of value_b - value_a per image, and its 95 % interval when whole groups (near-duplicate
    groups: patients) are drawn again with replacement, the same draw for both models (paired)."""
    ids, index = np.unique(np.asarray(groups), return_inverse=True)
    difference = np.bincount(index, weights=np.asarray(value_b, float) - np.asarray(value_a, float), minlength=len(ids))
    count = np.bincount(index, minlength=len(ids)).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(ids), (rounds, len(ids)))
    means = difference[draws].sum(axis=1) / np.maximum(count[draws].sum(axis=1), 1.0)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(difference.sum() / count.sum()), float(low), float(high)


def collection_differences(model_a, model_b, data: PreparedData, collection: str) -> dict:
    """For one collection's test images: each figure of training.regression (accuracy, tumour
    sensitivity, specificity at TUMOUR_THRESHOLD) as b minus a, with bootstrap_difference's interval and the
    number of groups drawn."""
    keep = data.mask("test") & (data.sources == collection)
    pixels, y, groups = data.pixels[keep], data.y[keep], data.groups[keep]
    p_a, p_b = predict_probabilities(model_a, pixels), predict_probabilities(model_b, pixels)
    known = y < len(data.labels)
    subsets = {"accuracy": (known, [p[known].argmax(axis=1) == y[known] for p in (p_a, p_b)])}
    if data.no_tumor_label is not None:
        called = [tumor_probability(p, data.labels, data.no_tumor_label) >= TUMOUR_THRESHOLD
                  for p in (p_a, p_b)]
        tumour = y != data.no_tumor_index
        subsets["tumor_sensitivity"] = (tumour, [c[tumour] for c in called])
        subsets["tumor_specificity"] = (~tumour, [~c[~tumour] for c in called])
    out = {}
    for key, (rows, (a, b)) in subsets.items():
        if rows.any():
            mean, low, high = bootstrap_difference(a, b, groups[rows])
            out[key] = {"difference": mean, "low": low, "high": high, "groups": int(len(set(groups[rows])))}
    return out
