"""Tumour / no-tumour operating points of a trained model: sensitivity and specificity at several
tumour-probability thresholds, on the validation and test subsets of the same seeded split and on
collections absent from training, plus the threshold a target sensitivity would need, chosen on
validation only.

    python -m training.operating_points --model frontend/model/model.h5 \\
        --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        --external ../shared/data/brain-mri-yes-no --report reports/operating-points.md \\
        --write-decision frontend/model/metadata.json

The page and the API call a tumour at probability >= 0.5; this report shows what moving that
threshold would buy and cost, so nobody has to guess from a ROC AUC.

The page's middle result level ("possible tumour: look closely") covers [t, 0.5), t chosen on
validation as the highest threshold whose band holds --possible-share (default a third) of the
tumours that 0.5 misses: a band that catches almost none of them earns nothing. The report counts
the missed tumours and the normal scans the band holds (its price); --write-decision records both
cut-offs in the model's metadata.json ("decision"), where the page reads them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.settings import CACHE_DIR, SEED


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.operating_points", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model.h5 to evaluate (metadata.json beside it names its labels)")
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="the folders it was trained on (same split)")
    p.add_argument("--external", nargs="*", default=[], metavar="DIR", help="collections absent from training")
    p.add_argument("--target-sensitivity", type=float, default=0.97,
                   help="sensitivity the validation-chosen threshold must reach on validation (default 0.97)")
    p.add_argument("--possible-share", type=float, default=0.34,
                   help="share of the validation tumours missed at 0.5 that the 'possible tumour' band must hold "
                        "(default 0.34)")
    p.add_argument("--seed", type=int, default=SEED,
                   help=f"seed of the split the model was trained on (default {SEED})")
    p.add_argument("--cache-dir", default=CACHE_DIR, help=f"decoded-image cache; '' disables (default {CACHE_DIR})")
    p.add_argument("--report", required=True, help="Markdown report path; JSON is written beside it")
    p.add_argument("--write-decision", metavar="METADATA_JSON",
                   help="record the cut-offs (0.5 and the validation-chosen threshold) in this metadata.json")
    args = p.parse_args(argv)
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from training.evaluate import load_with_split
    from training.operating_points.thresholds import (
        collect,
        threshold_for_missed_share,
        threshold_for_sensitivity,
        write_decision,
        write_report,
    )

    model, data = load_with_split(args.model, args.data, args.seed, args.cache_dir or None)
    sets = collect(model, data, args.external, args.cache_dir or None)
    chosen = threshold_for_sensitivity(*sets["validation"], args.target_sensitivity)
    command = "python -m training.operating_points " + " ".join(sys.argv[1:] if argv is None else argv)
    validation_p, validation_tumor = sets["validation"]
    possible = threshold_for_missed_share(validation_p, validation_tumor, args.possible_share)
    write_report(sets, chosen, args.target_sensitivity, possible, args.possible_share, command, Path(args.report))
    if args.write_decision:
        write_decision(Path(args.write_decision), possible, args.possible_share)
    print(f"Wrote {args.report}; threshold for {args.target_sensitivity:.0%} validation sensitivity: {chosen:.3g}; "
          f"'possible tumour' from {possible:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
