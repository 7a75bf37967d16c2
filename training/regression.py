"""Does a new model regress? Compares two training reports' test figures collection by collection
(4-class accuracy, tumour sensitivity, specificity) and names every fall of more than a point, the
rule a model must pass before it replaces the shipped one.

    python -m training.regression --shipped reports/final-model.json --candidate runs/x-report/final-model.json

Exit status 0 when nothing falls more than --tolerance, 1 otherwise (the falls are printed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FIGURES = ("accuracy", "tumor_sensitivity", "tumor_specificity")
FOUR_CLASS = "brain-mri-4class"   # the only collection with the tumour types: accuracy is judged there


def falls(shipped: dict, candidate: dict, tolerance: float = 0.01) -> list[str]:
    """Each collection's figure that is more than `tolerance` lower in `candidate` (test subsets)."""
    found = []
    for collection, old in shipped["test"]["per_collection"].items():
        new = candidate["test"]["per_collection"].get(collection)
        if new is None:
            found.append(f"{collection}: not in the candidate's test subset")
            continue
        for key in FIGURES:
            if key == "accuracy" and collection != FOUR_CLASS:
                continue
            if old.get(key) is not None and new.get(key) is not None and new[key] < old[key] - tolerance:
                found.append(f"{collection} {key}: {100 * old[key]:.1f} -> {100 * new[key]:.1f} %")
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.regression", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shipped", default="reports/final-model.json", help="the shipped model's training report (JSON)")
    p.add_argument("--candidate", required=True, help="the new model's training report (JSON)")
    p.add_argument("--tolerance", type=float, default=0.01, help="largest fall allowed, as a share (default 0.01)")
    args = p.parse_args(argv)
    shipped, candidate = (json.loads(Path(path).read_text())["results"][0] for path in (args.shipped, args.candidate))
    found = falls(shipped, candidate, args.tolerance)
    for line in found:
        print("falls:", line)
    print("no fall beyond the tolerance" if not found else f"{len(found)} fall(s): not shipped as it is")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
