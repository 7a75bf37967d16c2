"""The model contract, once per language: mri/contract.py and frontend/js/shared/contract.js give the
same verdict on the same metadata.json files (tests/fixtures/metadata, plus the shipped one) and
shape the same answer from the same probabilities."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mri.contract import (
    DEFAULT_TUMOR_THRESHOLD,
    ContractError,
    answer,
    check_metadata,
    metadata_problems,
    read_metadata,
    tumor_threshold,
)
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "metadata"
VERDICTS = json.loads((FIXTURES / "verdicts.json").read_text())
SHIPPED = REPO / "frontend" / "model" / "metadata.json"
PROBABILITIES = [[0.1, 0.6, 0.25, 0.05], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 1.0, 0.0]]

# Node reads the same files through the page's module and prints its verdicts and answers.
NODE_SCRIPT = """
import { readFileSync } from "node:fs";
import { metadataProblems, shapeResult } from "./frontend/js/shared/contract.js";
const [files, shipped, rows] = JSON.parse(process.argv[1]);
const problems = Object.fromEntries(files.map((f) => [f, metadataProblems(JSON.parse(readFileSync(f, "utf8")))]));
const metadata = JSON.parse(readFileSync(shipped, "utf8"));
console.log(JSON.stringify({ problems, answers: rows.map((p) => shapeResult(p, metadata, 0)) }));
"""


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*.json") if p.name != "verdicts.json")


def test_every_fixture_has_a_verdict_and_good_means_none():
    assert sorted(VERDICTS) == [p.name for p in fixture_files()]
    for name, problems in VERDICTS.items():
        assert (problems == []) == name.startswith("good-"), name


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.stem)
def test_python_verdict(path):
    document = json.loads(path.read_text())
    assert metadata_problems(document) == VERDICTS[path.name]
    if VERDICTS[path.name]:
        with pytest.raises(ContractError, match=re.escape("is not usable: " + "; ".join(VERDICTS[path.name]))):
            read_metadata(path)
    else:
        metadata = read_metadata(path)
        assert metadata.document == document and len(metadata.labels) == len(document["labels"])


def test_the_shipped_metadata_keeps_the_contract():
    metadata = read_metadata(SHIPPED)
    assert metadata.no_tumor_label in metadata.labels and metadata.channels in (1, 3)


def test_missing_and_broken_files_say_what_to_do(tmp_path):
    with pytest.raises(ContractError, match="does not exist; training writes metadata.json"):
        read_metadata(tmp_path / "metadata.json")
    (tmp_path / "metadata.json").write_text("{labels: oops")
    with pytest.raises(ContractError, match="is not valid JSON"):
        read_metadata(tmp_path / "metadata.json")


def test_answer_shape():
    metadata = check_metadata({"labels": ["glioma", "notumor"], "no_tumor_label": "notumor",
                               "input": {"height": 8, "width": 8, "channels": 1}})
    assert answer([0.2, 0.8], metadata) == {"label": "notumor", "probabilities": {"glioma": 0.2, "notumor": 0.8},
                                            "tumor_probability": pytest.approx(0.2)}
    with pytest.raises(ContractError, match="gave 3 probabilities but metadata.json lists 2 labels"):
        answer([0.2, 0.7, 0.1], metadata)


def test_the_page_gives_the_same_verdicts_and_answers():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    files = [str(p.relative_to(REPO)) for p in fixture_files()] + [str(SHIPPED.relative_to(REPO))]
    run = subprocess.run([node, "--input-type=module", "-e", NODE_SCRIPT,
                          json.dumps([files, str(SHIPPED.relative_to(REPO)), PROBABILITIES])],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    page = json.loads(run.stdout)
    assert page["problems"] == {f: metadata_problems(json.loads((REPO / f).read_text())) for f in files}
    metadata = read_metadata(SHIPPED)
    for row, shaped in zip(PROBABILITIES, page["answers"]):
        ours = answer(row, metadata)
        assert shaped["label"] == ours["label"]
        assert shaped["probabilities"] == pytest.approx(ours["probabilities"])
        assert shaped["tumorProbability"] == pytest.approx(ours["tumor_probability"])


# metadata.json "decision" values: usable ones, and ones the page ignores for its defaults.
DECISIONS = [{"tumor_threshold": 0.7, "possible_threshold": 0.3}, {"tumor_threshold": 0.5, "possible_threshold": 0.5},
             {"tumor_threshold": 1.0, "possible_threshold": 0.3}, {"tumor_threshold": 0.7, "possible_threshold": 0.8},
             {"tumor_threshold": "0.7", "possible_threshold": 0.3}, {"tumor_threshold": 0.7}, None]

NODE_DECISIONS = """
import { decisionOf } from "./frontend/js/shared/results.js";
console.log(JSON.stringify(JSON.parse(process.argv[1]).map((decision) => decisionOf({ decision }).tumour)));
"""


def test_a_scan_uses_the_cut_off_single_images_use_and_the_page_agrees():
    shipped = read_metadata(SHIPPED)
    thresholds = [tumor_threshold(check_metadata({**shipped.document, "decision": d})) for d in DECISIONS]
    assert thresholds == [0.7, 0.5] + [DEFAULT_TUMOR_THRESHOLD] * 5
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    run = subprocess.run([node, "--input-type=module", "-e", NODE_DECISIONS, json.dumps(DECISIONS)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == thresholds
