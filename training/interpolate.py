"""Blend two models of one architecture weight by weight: (1 - alpha) * start + alpha * tuned.

    python -m training.interpolate --start frontend/model/model.h5 --tuned runs/x/model.h5 --alpha 0.5 --out runs/blend

A model fine-tuned on new data, blended with the model it started from, often keeps more of the
start's figures on data neither saw than the fine-tuned one alone (WiSE-FT, Wortsman et al., 2022).
Judge a blend as any run: `python -m training.train ... --init-from runs/blend/model.h5 --epochs 0`
evaluates it on the split without training; pick alpha on validation figures, never on test ones.
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.interpolate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", required=True, help="the model the fine-tuned one started from (.h5)")
    p.add_argument("--tuned", required=True, help="the fine-tuned model (.h5)")
    p.add_argument("--alpha", type=float, required=True, help="0 = start, 1 = tuned")
    p.add_argument("--out", required=True, help="folder for the blend's model.h5")
    args = p.parse_args(argv)
    if not 0.0 <= args.alpha <= 1.0:
        p.error(f"--alpha must lie in [0, 1], not {args.alpha}")
    from mri.layers import load_model

    blend = interpolate(load_model(args.start), load_model(args.tuned), args.alpha)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    blend.save(out / "model.h5", include_optimizer=False)
    print(f"Saved {out / 'model.h5'}: {1 - args.alpha:g} x {args.start} + {args.alpha:g} x {args.tuned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
