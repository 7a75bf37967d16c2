"""The scope rules (mri/scope.py and frontend/js/shared/scope.js) on the shared fixtures, the two runtimes
giving the very same answers, reasons included; and the rules read from real DICOM headers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from page_jobs import run_page_job

from mri.scope import judge, judge_dicom, judge_series

CASES = json.loads((Path(__file__).parent / "fixtures" / "scope" / "cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_rules_give_the_fixture_answers(case):
    got = judge(case["header"])
    assert {k: got[k] for k in case["expected"]} == case["expected"]
    assert got["withheld"] == bool(case["expected"]["codes"])
    assert len(got["reasons"]) == len(got["codes"]) and all(r.endswith(".") for r in got["reasons"])


def test_the_page_gives_the_same_answers_word_for_word(tmp_path):
    answers = run_page_job(tmp_path, task="scope", headers=[c["header"] for c in CASES])["answers"]
    assert answers == [judge(c["header"]) for c in CASES]


def test_reasons_say_what_the_header_says_and_what_the_model_knows():
    sagittal = judge({"Modality": "MR", "ImageOrientationPatient": [0, 1, 0, 0, 0, -1]})
    assert sagittal["reasons"] == ["The slice plane is 90 degrees from axial (sagittal); the model was trained on "
                                   "axial slices only, so the page withholds planes more than 35 degrees from axial."]
    assert judge({"Modality": "CT"})["reasons"] == [
        "The header says this is modality CT, not MR: the model reads brain MRI only."]


def test_a_series_is_judged_as_a_whole():
    axial = {"Modality": "MR", "SeriesDescription": "DWI", "ImageOrientationPatient": [1, 0, 0, 0, 1, 0]}
    b0 = {**axial, "SeriesDescription": "AX T2"}
    judged = judge_series([b0, axial, axial])
    assert judged["withheld"] and judged["codes"] == ["diffusion"] and judged["label"] == "T2, axial"
    assert not judge_series([b0, b0])["withheld"]


def test_judged_from_a_real_dicom_header():
    import numpy as np
    from compressed_samples import uncompressed_dicom

    data = uncompressed_dicom(np.zeros((8, 8), np.uint16), ImageType=["DERIVED", "PRIMARY", "DIFFUSION", "ADC"],
                              SeriesDescription="ep2d_diff_ADC", ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    judged = judge_dicom(data)
    assert judged["codes"] == ["diffusion"] and judged["plane"] == "axial"
