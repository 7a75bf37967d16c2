"""The model contract: what metadata.json must say, and the shape of every answer.

Training writes metadata.json, convert checks a model against it and the site answers with it; all
three read it here. docs/contract.md describes the contract; frontend/js/shared/contract.js is the page's
twin, and tests/test_contract.py feeds both the same good and bad files.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

# Folder names that mean "no tumour", in the order they are looked for.
NO_TUMOR_NAMES = ("notumor", "no_tumor", "no-tumor", "no", "normal", "healthy")
# The cut-off for "tumour likely" where metadata.json records no usable "decision" (written by
# training.operating_points --write-decision); frontend/js/shared/results.js DEFAULT_DECISION is its twin.
DEFAULT_TUMOR_THRESHOLD = 0.5


class ContractError(ValueError):
    """metadata.json breaks the contract; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Metadata:
    labels: tuple[str, ...]
    no_tumor_label: str
    height: int
    width: int
    channels: int
    architecture: str
    document: dict = field(compare=False, repr=False)  # metadata.json as read, every key kept


def find_no_tumor_label(labels: list[str]) -> str | None:
    """The label that means "no tumour" (see NO_TUMOR_NAMES), else None."""
    lowered = {label.lower(): label for label in labels}
    return next((lowered[name] for name in NO_TUMOR_NAMES if name in lowered), None)


def _whole(value) -> bool:
    # JSON's true is not a size, and JavaScript reads 128.0 as the integer 128.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()


def metadata_problems(document) -> list[str]:
    """Every way `document` (metadata.json parsed) breaks the contract; [] when it keeps it."""
    problems = []
    document = document if isinstance(document, dict) else {}
    labels, no_tumor, size = document.get("labels"), document.get("no_tumor_label"), document.get("input")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(label, str) for label in labels):
        problems.append("labels must be a list of at least two class names")
    elif no_tumor not in labels:
        problems.append(f"no_tumor_label ({'null' if no_tumor is None else no_tumor}) must be one of labels")
    if (not isinstance(size, dict) or not all(_whole(size.get(k)) and size[k] > 0 for k in ("height", "width"))
            or not _whole(size.get("channels")) or size["channels"] not in (1, 3)):
        problems.append("input must be {height, width, channels} with positive sizes and 1 or 3 channels")
    return problems


def check_metadata(document, source: str = "metadata.json") -> Metadata:
    """metadata.json parsed -> Metadata; raises ContractError naming every problem at once."""
    problems = metadata_problems(document)
    if problems:
        raise ContractError(f"{source} is not usable: {'; '.join(problems)}.")
    size = document["input"]
    return Metadata(tuple(document["labels"]), document["no_tumor_label"], int(size["height"]),
                    int(size["width"]), int(size["channels"]), str(document.get("architecture", "unknown")),
                    document)


def read_metadata(path: str | Path) -> Metadata:
    """Read and check a metadata.json; raises ContractError saying which file and what to do."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path} does not exist; training writes metadata.json beside model.h5 "
                            "(labels and input size).")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ContractError(f"{path} is not valid JSON ({err}); restore the metadata.json training wrote.") from err
    return check_metadata(document, str(path))


def tumor_threshold(metadata: Metadata) -> float:
    """metadata.json's decision.tumor_threshold where its decision is usable, as the page checks it
    (frontend/js/shared/results.js decisionOf: 0 < possible <= tumour < 1), else DEFAULT_TUMOR_THRESHOLD."""
    decision = metadata.document.get("decision")
    decision = decision if isinstance(decision, dict) else {}
    tumour, possible = decision.get("tumor_threshold"), decision.get("possible_threshold")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  for v in (tumour, possible))
    return float(tumour) if numbers and 0 < possible <= tumour < 1 else DEFAULT_TUMOR_THRESHOLD


def answer(probabilities, metadata: Metadata) -> dict:
    """One image's probabilities (in label order) -> {label, probabilities, tumor_probability}."""
    if len(probabilities) != len(metadata.labels):
        raise ContractError(f"The model gave {len(probabilities)} probabilities but metadata.json lists "
                            f"{len(metadata.labels)} labels; the model and its metadata do not match.")
    by_label = {label: float(p) for label, p in zip(metadata.labels, probabilities)}
    return {
        "label": max(metadata.labels, key=by_label.__getitem__),
        "probabilities": by_label,
        "tumor_probability": 1.0 - by_label[metadata.no_tumor_label],
    }
