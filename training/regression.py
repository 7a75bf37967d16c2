"""Does a new model regress? Compares two training reports' test figures collection by collection
(4-class accuracy, tumour sensitivity, specificity) and names every fall of more than a point, the
rule a model must pass before it replaces the shipped one.

    python -m training.regression --shipped reports/final-model.json --candidate runs/x-report/final-model.json

Exit status 0 when nothing falls more than --tolerance, 1 otherwise (the falls are printed).
With `--models SHIPPED.h5 CANDIDATE.h5 --data ... --split-from CANDIDATE/split.csv`, each fall also
gets a 95 % interval from a paired bootstrap over its collection's near-duplicate groups
(patients): a fall whose interval holds 0 is within what another draw of patients would give.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FIGURES = ("accuracy", "tumor_sensitivity", "tumor_specificity")
FOUR_CLASS = "brain-mri-4class"   # the only collection with the tumour types: accuracy is judged there
MIN_GROUPS = 10  # fewer groups than this give a bootstrap of a handful of distinct draws, not an interval


def falls(shipped: dict, candidate: dict, tolerance: float = 0.01) -> list[str]:
    """Each collection's figure that is more than `tolerance` lower in `candidate` (test subsets)."""
    return [line for _, _, line in fallen(shipped, candidate, tolerance)]


def fallen(shipped: dict, candidate: dict, tolerance: float = 0.01) -> list[tuple[str, str | None, str]]:
    """(collection, figure or None for a missing collection, the line that names it) per fall."""
    found = []
    for collection, old in shipped["test"]["per_collection"].items():
        new = candidate["test"]["per_collection"].get(collection)
        if new is None:
            found.append((collection, None, f"{collection}: not in the candidate's test subset"))
            continue
        for key in FIGURES:
            if key == "accuracy" and collection != FOUR_CLASS:
                continue
            if old.get(key) is not None and new.get(key) is not None and new[key] < old[key] - tolerance:
                found.append((collection, key, f"{collection} {key}: {100 * old[key]:.1f} -> {100 * new[key]:.1f} %"))
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.regression", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shipped", default="reports/final-model.json", help="the shipped model's training report (JSON)")
    p.add_argument("--candidate", required=True, help="the new model's training report (JSON)")
    p.add_argument("--tolerance", type=float, default=0.01, help="largest fall allowed, as a share (default 0.01)")
    p.add_argument("--models", nargs=2, metavar=("SHIPPED_H5", "CANDIDATE_H5"),
                   help="the two models, to give each fall a bootstrap interval (with --data and --split-from)")
    p.add_argument("--data", nargs="+", metavar="DIR", help="with --models: the folders the candidate trained on")
    p.add_argument("--split-from", help="with --models: the candidate's split.csv")
    p.add_argument("--cache-dir", default=None, help="with --models: cache of decoded images")
    args = p.parse_args(argv)
    if args.models and not (args.data and args.split_from):
        p.error("--models needs --data and --split-from (the candidate's split)")
    shipped, candidate = (json.loads(Path(path).read_text())["results"][0] for path in (args.shipped, args.candidate))
    found = fallen(shipped, candidate, args.tolerance)
    intervals = {}
    if args.models and found:
        # The library starts TensorFlow (seconds): only when the intervals are asked for.
        from mri.layers import load_model
        from training.data import prepare_data
        from training.evaluate import collection_differences

        a, b = (load_model(path) for path in args.models)
        data = prepare_data(args.data, a.input_shape[1], a.input_shape[3], cache_dir=args.cache_dir,
                            split_from=args.split_from)
        for collection in sorted({c for c, key, _ in found if key}):
            intervals[collection] = collection_differences(a, b, data, collection)
    for collection, key, line in found:
        figure = intervals.get(collection, {}).get(key)
        if figure and figure["groups"] < MIN_GROUPS:
            line += (f" (only {figure['groups']} near-duplicate groups, i.e. patients, in this test subset: too few "
                     "for a bootstrap interval)")
        elif figure:
            line += (f" (paired bootstrap over {figure['groups']} groups: {100 * figure['difference']:+.1f} points, "
                     f"95 % interval {100 * figure['low']:+.1f} to {100 * figure['high']:+.1f}: "
                     f"{'within the noise' if figure['low'] <= 0 <= figure['high'] else 'beyond the noise'})")
        print("falls:", line)
    print("no fall beyond the tolerance" if not found else f"{len(found)} fall(s): not shipped as it is")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
