"""Held-out figures for a trained model: the numbers the report and metadata.json carry."""
from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

CALIBRATION_BINS = 15


def percent(value) -> str:
    """A share as the reports print it: "97.3 %", or "–" when there is nothing to measure."""
    return "–" if value is None else f"{100 * value:.1f} %"


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
    """Accuracy, per-class P/R/F1, macro-F1, confusion, tumour-vs-none sensitivity etc., ECE."""
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
    tumor_p = tumor_probability(probabilities, labels, no_tumor_label)
    if tumor_p is not None:
        is_tumor = y_true != labels.index(no_tumor_label)
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
        figures = {"n": int(mask.sum()), "accuracy": float((p.argmax(axis=1) == y).mean())}
        tumor_p = tumor_probability(p, labels, no_tumor_label)
        if tumor_p is not None:
            figures.update(tumor_detection_metrics(tumor_p, y != labels.index(no_tumor_label)))
        out[name] = figures
    return out


def tumor_detection_metrics(tumor_p: np.ndarray, is_tumor: np.ndarray, threshold: float = 0.5) -> dict:
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
    whose labels differ from the model's (metadata.json beside it) or that have no no-tumour class,
    before loading the model: that starts TensorFlow, the slow part."""
    import json
    from pathlib import Path

    from training.data import labels_of, scan_folders
    from training.models import load_model
    from training.train import find_no_tumor_label, prepare_data

    labels = labels_of(scan_folders(data_dirs))
    metadata = Path(model_path).with_name("metadata.json")
    trained_on = json.loads(metadata.read_text())["labels"] if metadata.exists() else labels
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
    import tensorflow as tf

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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.array(matrix)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.2 * len(labels) + 1.5))
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
    plt.close(fig)
