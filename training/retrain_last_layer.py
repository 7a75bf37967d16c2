"""Refit a trained model's classifier on held-back images drawn evenly from every collection x
class (deep feature reweighting, training.last_layer), and report what it changes.

    python -m training.retrain_last_layer --model frontend/model/model.h5 \\
        --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair ../shared/data/brain-mri-brats \\
        ../shared/data/brain-mri-alzheimer-t1 ../shared/data/brain-mri-openneuro-t1 \\
        --judge ../shared/data/brain-mri-yes-no --out runs/dfr --report reports/ablations/dfr-shipped.md

--data are the folders the model trained on (the same seeded split is rebuilt): half of their
validation groups refit the classifier, the other half judges it; --judge are whole collections the
model never saw (a leave-one-collection-out fold's own collection, say). The test subset is never used.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.defaults import CACHE_DIR, SEED


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.retrain_last_layer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model.h5 whose classifier is refit")
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="the folders it was trained on (same split)")
    p.add_argument("--labels", nargs="+", default=None,
                   help="its output classes, when --data lacks some (a fold); default: metadata.json beside it, "
                        "else the folders' classes")
    p.add_argument("--judge", nargs="*", default=[], metavar="DIR", help="whole collections it never trained on")
    p.add_argument("--out", required=True, help="folder for the refit model.h5")
    p.add_argument("--report", required=True, help="Markdown report (JSON beside it)")
    p.add_argument("--power", type=float, default=0.0,
                   help="each collection x class weighs n ** POWER of its images: 0 evenly (default), 1 as drawn")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed of the split it was trained on (default {SEED})")
    p.add_argument("--cache-dir", default=CACHE_DIR, help=f"decoded-image cache; '' disables (default {CACHE_DIR})")
    args = p.parse_args(argv)
    if overlap := set(args.judge) & set(args.data):
        p.error(f"--judge {sorted(overlap)} must not be among the --data folders: it must be unseen.")
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from mri.contract import read_metadata
    from training.data import prepare_data
    from training.last_layer import judge, retrain_last_layer, write_report
    from mri.layers import load_model

    metadata = Path(args.model).with_name("metadata.json")
    labels = args.labels or (list(read_metadata(metadata).labels) if metadata.exists() else None)
    model = load_model(args.model)
    height, _, channels = model.input_shape[1:]
    cache = args.cache_dir or None
    data = prepare_data(args.data, height, channels, args.seed, cache, labels=labels)
    if len(data.labels) != model.output_shape[-1]:
        raise SystemExit(f"{args.model} has {model.output_shape[-1]} classes but --data gives {data.labels}: "
                         "pass --labels.")
    reweighted, check, fitted = retrain_last_layer(model, data, args.seed, args.power)
    before = judge(model, data, check, args.judge, cache)
    after = judge(reweighted, data, check, args.judge, cache)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reweighted.save(out / "model.h5", include_optimizer=False)
    command = "python -m training.retrain_last_layer " + " ".join(sys.argv[1:] if argv is None else argv)
    write_report(before, after, fitted, args.model, command, Path(args.report))
    print(f"Wrote {args.report} and {out / 'model.h5'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
