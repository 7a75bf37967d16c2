"""Does a model find tumours, or read the sequence a collection happened to use? Tumour detection on
the test subset as it is, and again after grey-level changes that alter how a scan looks between
MRI sequences but not whether it holds a tumour:

- "CSF made bright": dark tissue (CSF in T1 and FLAIR) raised the way it is in T2
  (`training.sequence_probe.probe.brighten_dark_tissue`);
- "random intensity curve": tissue brightness reordered (`training.augment.random_intensity_curve`).

    python -m training.sequence_probe --model frontend/model/model.h5 \\
        --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        --report reports/sequence-probe.md

A model that learned tumours keeps its sensitivity; one that learned "bright CSF = the normal
collection" loses it. Each image gets its own fixed seed, so a rerun gives the same figures.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.settings import CACHE_DIR, SEED


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.sequence_probe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model.h5 to probe (metadata.json beside it names its labels)")
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="the folders it was trained on (same split)")
    p.add_argument("--seed", type=int, default=SEED,
                   help=f"seed of the split the model was trained on (default {SEED})")
    p.add_argument("--cache-dir", default=CACHE_DIR, help=f"decoded-image cache; '' disables (default {CACHE_DIR})")
    p.add_argument("--report", required=True, help="Markdown report path; JSON is written beside it")
    args = p.parse_args(argv)
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from training.evaluate import load_with_split
    from training.sequence_probe.probe import probe, write_report

    model, data = load_with_split(args.model, args.data, args.seed, args.cache_dir or None)
    results = probe(model, data)
    command = "python -m training.sequence_probe " + " ".join(sys.argv[1:] if argv is None else argv)
    write_report(results, args.model, command, Path(args.report))
    print(f"Wrote {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
