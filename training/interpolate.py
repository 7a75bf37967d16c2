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


def interpolate(start, tuned, alpha: float):
    """`start` with every weight (batch-norm statistics too) moved `alpha` of the way to `tuned`'s."""
    first, second = start.get_weights(), tuned.get_weights()
    if [w.shape for w in first] != [w.shape for w in second]:
        raise ValueError("The two models differ in architecture; only models of one architecture blend.")
    start.set_weights([(1.0 - alpha) * a + alpha * b for a, b in zip(first, second)])
    return start


def judge_on_validation(start_path: str, tuned_path: str, alphas: list[float], data) -> list[dict]:
    """Per alpha: validation accuracy, macro-F1, tumour sensitivity / specificity, and the
    collections' falls against alpha 0 (the start)."""
    from mri.layers import load_model
    from training.evaluate import classification_metrics, per_group_metrics, predict_probabilities
    from training.regression import falls

    x_val, y_val = data.subset("validation")
    sources = data.sources[data.mask("validation")]
    no_tumor = data.labels[data.no_tumor_index] if data.no_tumor_index is not None else None
    tuned = load_model(tuned_path)
    rows, start_figures = [], None
    for alpha in sorted(alphas):
        p = predict_probabilities(interpolate(load_model(start_path), tuned, alpha), x_val)
        pooled = classification_metrics(p, y_val, data.labels, no_tumor)
        figures = {"per_collection": per_group_metrics(p, y_val, sources, data.labels, no_tumor)}
        start_figures = start_figures or figures
        rows.append({"alpha": alpha, "accuracy": pooled["accuracy"], "macro_f1": pooled["macro_f1"],
                     "tumor_sensitivity": pooled.get("tumor_sensitivity"),
                     "tumor_specificity": pooled.get("tumor_specificity"),
                     "falls": falls({"test": start_figures}, {"test": figures})})
    return rows


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
    if args.judge:
        from mri.layers import load_model
        from training.data import prepare_data

        _, size, _, channels = load_model(args.tuned).input_shape
        data = prepare_data(args.data, size, channels, cache_dir=args.cache_dir, split_from=args.split_from)
        print("| alpha | val accuracy | val macro-F1 | val sensitivity | val specificity | falls against alpha 0 |")
        print("| ---: | ---: | ---: | ---: | ---: | --- |")
        for r in judge_on_validation(args.start, args.tuned, args.judge, data):
            print(f"| {r['alpha']:g} | {100 * r['accuracy']:.1f} % | {r['macro_f1']:.3f} | "
                  f"{100 * r['tumor_sensitivity']:.1f} % | {100 * r['tumor_specificity']:.1f} % | "
                  f"{'; '.join(r['falls']) or 'none'} |")
        return 0
    from mri.layers import load_model

    blend = interpolate(load_model(args.start), load_model(args.tuned), args.alpha)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    blend.save(out / "model.h5", include_optimizer=False)
    print(f"Saved {out / 'model.h5'}: {1 - args.alpha:g} x {args.start} + {args.alpha:g} x {args.tuned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
