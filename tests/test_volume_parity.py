"""The page's scan reading (frontend/js/worker/nifti.js, series.js, volume.js) against mri/volumes.py
and mri/dicom_series.py: the same files must give the same slices, bytes for bytes, and the
same refusals."""
from __future__ import annotations

import random

import numpy as np
import pytest
from page_jobs import run_page_job

from mri.dicom_series import read_series
from mri.volumes import VolumeError, read_volume
from tests.conftest import real_data
from tests.test_volumes import BRATS_LIKE, affines, header_with_dims
from tests.volume_samples import brats_path, brats_patients, dicom_series, head_phantom, nifti_bytes


def page_scans(tmp_path, scans: list[list[tuple[str, bytes]]]) -> list[dict]:
    """Runs the page's readScan on each scan (a list of (name, bytes)); adds the slices."""
    paths = []
    for i, files in enumerate(scans):
        folder = tmp_path / f"scan{i}"
        folder.mkdir()
        for name, data in files:
            (folder / name).write_bytes(data)
        paths.append([str(folder / name) for name, _ in files])
    out = tmp_path / "out"
    out.mkdir()
    answers = run_page_job(tmp_path, task="scan", scans=paths, out=str(out))["answers"]
    for i, answer in enumerate(answers):
        if "error" not in answer:
            answer["slices"] = np.fromfile(out / f"{i}.u8", np.uint8).reshape(
                answer["count"], answer["rows"], answer["columns"])
    return answers


def python_scan(files):
    return read_volume(files[0][1], files[0][0]) if len(files) == 1 else read_series(files)


def assert_same(answer, volume, label):
    assert "error" not in answer, f"{label}: {answer.get('error')}"
    assert np.array_equal(answer["slices"], volume.slices), label
    assert answer["head"] == volume.has_head().tolist(), label


def test_generated_volumes_read_as_in_python(tmp_path):
    phantom = head_phantom()
    cases = [(f"affine{name}.nii.gz", nifti_bytes(phantom, affine)) for name, affine in affines()]
    for dtype in ("uint8", "int16", "uint16", "int32", "float32", "float64"):
        cases.append((f"{dtype}.nii", nifti_bytes(phantom * (0.2 if dtype == "uint8" else 1), BRATS_LIKE,
                                                  dtype=dtype, gz=False)))
    cases.append(("slope.nii", nifti_bytes(phantom, BRATS_LIKE, slope=2.5, inter=-100.0, gz=False)))
    cases.append(("nifti2.nii.gz", nifti_bytes(phantom, BRATS_LIKE, version=2)))
    cases.append(("qform.nii.gz", nifti_bytes(phantom, np.array([[0, -1.2, 0, 4], [0.99, 0, 0.14, 0],
                                                                   [-0.14, 0, 0.99, 2], [0, 0, 0, 1]]),
                                              qform_only=True)))
    cases.append(("4d.nii.gz", nifti_bytes(np.stack([phantom, phantom[::-1]], -1), BRATS_LIKE)))
    answers = page_scans(tmp_path, [[case] for case in cases])
    for (name, data), answer in zip(cases, answers):
        volume = read_volume(data, name)
        assert_same(answer, volume, name)
        assert answer["notes"] == volume.notes, name


def test_dicom_series_read_as_in_python(tmp_path):
    phantom = np.round(head_phantom())
    shuffled = dicom_series(phantom)
    random.Random(5).shuffle(shuffled)
    scans = [shuffled, dicom_series(phantom, multi_frame=True), dicom_series(phantom, positions=False),
             dicom_series(phantom * 2 - 50, slope=2.0, intercept=-50.0)]
    for files, answer in zip(scans, page_scans(tmp_path, scans)):
        volume = read_series(files)
        assert_same(answer, volume, files[0][0])
        assert len(answer["notes"]) == len(volume.notes)


def without_label(notes):
    return [note.split(": ", 1)[1] for note in notes]


def test_hospital_layouts_read_as_in_python_and_say_what_they_did(tmp_path):
    """Positions that all repeat (ordered by SliceLocation, then InstanceNumber) and missing
    slices (opened, the gap named): the same slices and the same notes in both runtimes."""
    phantom = np.round(head_phantom())
    repeated = dicom_series(phantom, repeat_positions=True, slice_locations=True, spacing=(1.0, 1.0, 2.0))
    instances_only = dicom_series(phantom, repeat_positions=True)
    random.Random(3).shuffle(repeated)
    random.Random(4).shuffle(instances_only)
    gappy = dicom_series(phantom, spacing=(1.0, 1.0, 2.0))
    gappy = gappy[:11] + gappy[15:]  # InstanceNumber 12 to 15 missing
    scans = [repeated, instances_only, gappy]
    reference = read_series(dicom_series(phantom)).slices
    for files, answer in zip(scans, page_scans(tmp_path, scans)):
        volume = read_series(files)
        assert_same(answer, volume, files[0][0])
        assert without_label(answer["notes"]) == without_label(volume.notes)
    assert np.array_equal(read_series(repeated).slices, reference)
    assert np.array_equal(read_series(instances_only).slices, reference)
    assert without_label(read_series(repeated).notes) == [
        "ImagePositionPatient repeats, so the slices are ordered by SliceLocation."]
    assert without_label(read_series(instances_only).notes) == [
        "ImagePositionPatient repeats, so the slices are ordered by InstanceNumber."]
    assert without_label(read_series(gappy).notes) == [
        "slices missing between InstanceNumber 11 and 16 (a 10.0 mm gap where slices are 2.00 mm apart); "
        "the slices either side are shown next to each other."]
    assert len(read_series(gappy).slices) == phantom.shape[2] - 4


def test_refusals_agree(tmp_path):
    phantom = np.round(head_phantom())
    gz = nifti_bytes(head_phantom(), np.eye(4))
    series = dicom_series(phantom)
    cases = {
        "cut short": [("cut.nii.gz", gz[: len(gz) // 2])],
        "2-D": [("flat.nii", header_with_dims([40, 48]))],
        "voxels": [("huge.nii", header_with_dims([2000, 2000, 2000]))],
        "mixes 2 DICOM series": series[:6] + dicom_series(phantom)[6:],
        "neither ImagePositionPatient nor InstanceNumber": dicom_series(phantom, positions=False,
                                                                        instance_numbers=False),
    }
    answers = page_scans(tmp_path, list(cases.values()))
    for (words, files), answer in zip(cases.items(), answers):
        with pytest.raises(VolumeError, match=words):
            python_scan(files)
        assert words in answer.get("error", ""), (words, answer)


def test_brats_volumes_read_as_in_python(tmp_path):
    real_data("volumes/brats2018")
    scans = [[(p.name, p.read_bytes())] for patient in brats_patients()
             for p in (brats_path(patient, "flair"), brats_path(patient, "t1ce"))]
    for files, answer in zip(scans, page_scans(tmp_path, scans)):
        assert_same(answer, read_volume(files[0][1]), files[0][0])
