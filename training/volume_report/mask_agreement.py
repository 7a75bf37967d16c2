"""Per-slice agreement of a model with the expert tumour masks of whole BraTS volumes.

Each volume is read as the page and the API read it (mri.volumes: radiological axial view,
per-volume 99.5th-percentile scaling); every slice with enough head is classified by the model on
the image path (bilinear resize, raw 0-255). The truth of a slice comes from the expert mask
(`<patient>_seg.nii.gz`) on the same grid, by the brain-mri-brats set's own rule: tumour where the
mask has at least 100 voxels on the slice, no tumour where it has none; slices in between are left
out (a second table counts any mask voxel as tumour). Figures per sequence over all patients:
tumour sensitivity and specificity at the page's threshold (0.5) and ROC AUC.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from mri.contract import Metadata
from mri.volumes import load_nifti, model_inputs, read_volume, to_axial
from training.evaluate import predict_probabilities, tumor_detection_metrics, tumor_probability
from training.report import percent, score

SEQUENCES = ("flair", "t1", "t1ce", "t2")
TUMOUR_VOXELS = 100  # the brain-mri-brats rule: >= 100 mask voxels is a tumour slice, 0 is not
THRESHOLD = 0.5


def mask_voxels_per_slice(seg_path: Path) -> np.ndarray:
    """Tumour voxels (mask > 0) on each axial slice, in the volumes' own slice order."""
    voxels, affine, _ = load_nifti(seg_path.read_bytes(), seg_path.name)
    return (to_axial(voxels, affine) > 0).sum(axis=(1, 2))


def classify_volume(model, path: Path, metadata: Metadata) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the classified slices, their tumour probabilities)."""
    volume = read_volume(path.read_bytes(), path.name)
    indices, inputs = model_inputs(volume, metadata.height, metadata.width)
    probabilities = (predict_probabilities(model, inputs, batch_size=32) if len(inputs)
                     else np.zeros((0, len(metadata.labels))))
    return indices, tumor_probability(probabilities, list(metadata.labels), metadata.no_tumor_label)


def collect(volumes_dir: Path, model, metadata: Metadata) -> list[dict]:
    """One row per classified slice of every sequence of every patient with a _seg mask."""
    rows = []
    for patient_dir in sorted(p for p in volumes_dir.iterdir() if p.is_dir()):
        patient = patient_dir.name
        seg = patient_dir / f"{patient}_seg.nii.gz"
        if not seg.exists():
            continue
        mask = mask_voxels_per_slice(seg)
        for sequence in SEQUENCES:
            path = patient_dir / f"{patient}_{sequence}.nii.gz"
            if not path.exists():
                continue
            indices, tumour_p = classify_volume(model, path, metadata)
            for index, p in zip(indices, tumour_p):
                rows.append({"patient": patient, "sequence": sequence, "index": int(index),
                             "mask_voxels": int(mask[index]), "tumor_probability": float(p)})
    return rows


def metrics_table(rows: list[dict], rule: str) -> list[str]:
    lines = ["| sequence | tumour slices | no-tumour slices | sensitivity | specificity | ROC AUC |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for sequence in (*SEQUENCES, "all"):
        chosen = [r for r in rows if sequence in ("all", r["sequence"])]
        if rule == "brats":
            chosen = [r for r in chosen if r["mask_voxels"] == 0 or r["mask_voxels"] >= TUMOUR_VOXELS]
        if not chosen:
            continue
        p = np.array([r["tumor_probability"] for r in chosen])
        truth = np.array([r["mask_voxels"] > 0 for r in chosen])
        m = tumor_detection_metrics(p, truth, THRESHOLD)
        auc = score(m["tumor_roc_auc"])
        name = "**all four**" if sequence == "all" else sequence
        lines.append(f"| {name} | {m['tumor_images']} | {m['no_tumor_images']} | {percent(m['tumor_sensitivity'])} | "
                     f"{percent(m['tumor_specificity'])} | {auc} |")
    return lines


def render(rows: list[dict], metadata: Metadata, volumes_dir: Path, model_path: Path, command: str) -> str:
    patients = sorted({r["patient"] for r in rows})
    trained_on = [Path(d).name for d in metadata.document.get("training", {}).get("data", [])]
    seen = "brain-mri-brats" in trained_on
    lines = [
        "# Whole BraTS volumes: per-slice agreement with the expert mask",
        "",
        f"`{command}`, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.",
        "",
        f"- Model: `{model_path}` ({metadata.architecture}), trained on {', '.join(trained_on) or 'unknown data'}.",
        f"- Volumes: {len(patients)} BraTS 2018 patients in `{volumes_dir}` ({', '.join(patients)}), four "
        f"sequences each, "
        "240×240×155 at 1 mm, skull-stripped.",
        "- Reading: as the page and the API read them (`mri/volumes.py`): radiological axial slices, per-volume "
        "scaling of 0 to the 99.5th percentile of the non-zero voxels onto 0–255; only slices with enough head "
        "(at least 5 % of pixels brighter than 25) are classified, as in the page.",
        f"- Truth per slice: the expert mask (`seg`, any label > 0) on that slice. Main table: the brain-mri-brats "
        f"set's own rule, tumour where the mask has ≥ {TUMOUR_VOXELS} voxels on the slice, no tumour where it has "
        "none, slices in between left out. Second table: any mask voxel counts as tumour.",
        f"- A slice is called a tumour when its tumour probability (1 − p(no tumour)) is ≥ {THRESHOLD}.",
        "- " + ("**These patients' slices are in `brain-mri-brats`, one of this model's training collections**: "
                "some of them were probably seen in training (check the model's split.csv); read the figures "
                "as agreement, not as a held-out estimate." if seen else
                "The model was not trained on `brain-mri-brats` (these patients' own slices): the figures are "
                "on scans from a collection the model never saw."),
        "- Two patients are few: a sequence's figure moves by several points with one patient's slices.",
        "",
        f"## Brain-mri-brats rule (≥ {TUMOUR_VOXELS} voxels vs none)",
        "",
        *metrics_table(rows, "brats"),
        "",
        "## Any mask voxel counts as tumour",
        "",
        *metrics_table(rows, "any"),
        "",
        "## Per volume",
        "",
        "| patient | sequence | classified slices | tumour slices (≥ 1 voxel) | slices called tumour | highest tumour "
        "probability (slice) |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for patient in patients:
        for sequence in SEQUENCES:
            chosen = [r for r in rows if r["patient"] == patient and r["sequence"] == sequence]
            if not chosen:
                continue
            top = max(chosen, key=lambda r: r["tumor_probability"])
            lines.append(f"| {patient} | {sequence} | {len(chosen)} | {sum(r['mask_voxels'] > 0 for r in chosen)} | "
                         f"{sum(r['tumor_probability'] >= THRESHOLD for r in chosen)} | "
                         f"{top['tumor_probability']:.3f} ({top['index']}) |")
    return "\n".join(lines) + "\n"


def write_report(rows: list[dict], metadata: Metadata, volumes_dir: Path, model_path: Path, command: str,
                 report: Path) -> None:
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(render(rows, metadata, volumes_dir, model_path, command))
