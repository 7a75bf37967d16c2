"""Blend two models of one architecture weight by weight: (1 - alpha) * start + alpha * tuned.

    python -m training.interpolate --start frontend/model/model.h5 --tuned runs/x/model.h5 --alpha 0.5 --out runs/blend

A model fine-tuned on new data, blended with the model it started from, often keeps more of the
start's figures on data neither saw than the fine-tuned one alone (WiSE-FT, Wortsman et al., 2022).

    python -m training.interpolate --start A.h5 --tuned B.h5 --judge 0 0.25 0.5 0.75 1 --data DIR ... --split-from S.csv

judges blends on the validation subset only (macro-F1, and each collection's figure that falls
more than a point below the start's, training.regression's rule): alpha is chosen there, never on
test figures. Judge the chosen blend as any run: `python -m training.train ... --init-from
runs/blend/model.h5 --epochs 0` evaluates it without training and writes its report.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.interpolate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", required=True, help="the model the fine-tuned one started from (.h5)")
    p.add_argument("--tuned", required=True, help="the fine-tuned model (.h5)")
    p.add_argument("--alpha", type=float, help="0 = start, 1 = tuned: write this blend to --out")
    p.add_argument("--out", help="folder for the blend's model.h5")
    p.add_argument("--judge", type=float, nargs="+", metavar="ALPHA",
                   help="instead, judge these blends on the validation subset of --data")
    p.add_argument("--data", nargs="+", metavar="DIR", help="with --judge: the folders the tuned model trained on")
    p.add_argument("--split-from", help="with --judge: the tuned run's split.csv")
    p.add_argument("--cache-dir", default=None, help="with --judge: cache of decoded images")
    args = p.parse_args(argv)
    alphas = args.judge if args.judge else [args.alpha]
    if args.judge is None and (args.alpha is None or not args.out):
        p.error("give --alpha and --out (write one blend), or --judge with --data and --split-from")
    if args.judge is not None and not (args.data and args.split_from):
        p.error("--judge needs --data and --split-from (the tuned run's split)")
    if any(a is None or not 0.0 <= a <= 1.0 for a in alphas):
        p.error(f"alpha must lie in [0, 1], not {alphas}")
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from mri.layers import load_model
    from training.data import prepare_data
    from training.interpolate.blend import interpolate, judge_on_validation

    start, tuned = load_model(args.start), load_model(args.tuned)
    if args.judge:
        _, size, _, channels = tuned.input_shape
        data = prepare_data(args.data, size, channels, cache_dir=args.cache_dir, split_from=args.split_from)
        print("| alpha | val accuracy | val macro-F1 | val sensitivity | val specificity | falls against alpha 0 |")
        print("| ---: | ---: | ---: | ---: | ---: | --- |")
        for r in judge_on_validation(start, tuned, args.judge, data):
            print(f"| {r['alpha']:g} | {100 * r['accuracy']:.1f} % | {r['macro_f1']:.3f} | "
                  f"{100 * r['tumor_sensitivity']:.1f} % | {100 * r['tumor_specificity']:.1f} % | "
                  f"{'; '.join(r['falls']) or 'none'} |")
        return 0
    blend = interpolate(start, tuned, args.alpha)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    blend.save(out / "model.h5", include_optimizer=False)
    print(f"Saved {out / 'model.h5'}: {1 - args.alpha:g} x {args.start} + {args.alpha:g} x {args.tuned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
