"""Convert the trained Keras model to the TF.js model the page runs, and prove the two agree.

    python -m convert --model frontend/model/model.h5 --out frontend/model/

Loads the .h5 with Keras, removes random augmentation layers (they act only in training), exports a
SavedModel and converts it with tensorflowjs to a graph model (model.json + weight shards), runs
that in Node with TF.js's wasm backend on real and synthetic images, and fails unless it matches
Keras (every probability within 1e-5, the same top-1 class). Only then does it replace the model
in --out, delete stale weight shards and record the conversion in metadata.json's "tfjs" section.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from convert import QUANTIZATIONS, ConversionError
from convert.samples import DEFAULT_LIMIT, add_sample_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True,
                        help="the Keras model to convert (.h5, as training saves it)")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder to write model.json, weight shards, model.h5 and metadata.json to "
                             "(the page loads frontend/model/)")
    parser.add_argument("--metadata", type=Path, default=None,
                        help="the model's metadata.json (labels, input size); default: the one beside --model")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none",
                        help="store weights as float32 (none), float16 or uint8; quantised models are "
                             "checked against looser limits, see reports/convert.md (default: %(default)s)")
    parser.add_argument("--backend", choices=("wasm", "cpu"), default="wasm",
                        help="TF.js backend to verify on; the page uses wasm (default: %(default)s)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip running the converted model against Keras (not for a model you ship)")
    limits = parser.add_argument_group("limits (defaults depend on --quantize; see convert/parity.py)")
    limits.add_argument("--max-prob-diff", type=float, default=None,
                        help="largest allowed |p_tfjs - p_keras| (float32 default: 1e-5)")
    limits.add_argument("--min-top1-agreement", type=float, default=None,
                        help="smallest allowed share of inputs with the same top-1 class, 0-1 (float32 default: 1)")
    limits.add_argument("--max-accuracy-drop", type=float, default=None,
                        help="largest allowed accuracy drop in percentage points on the labelled images "
                             "(float16 default: 0.2)")
    add_sample_arguments(parser, default_limit=DEFAULT_LIMIT)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Checked before TensorFlow loads, so a mistyped path answers in a moment.
    if not args.model.is_file():
        print(f"error: {args.model} does not exist; pass the .h5 file that training wrote "
              "(e.g. --model frontend/model/model.h5).", file=sys.stderr)
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from convert.parity import LIMITS
    from convert.pipeline import convert_model
    from convert.samples import images_from_args

    try:
        overrides = {name: getattr(args, name) for name in ("max_prob_diff", "min_top1_agreement", "max_accuracy_drop")
                     if getattr(args, name) is not None}
        limits = dataclasses.replace(LIMITS[args.quantize], **overrides)
        images, source = images_from_args(args) if args.verify else ([], "")
        convert_model(args.model, args.out, quantization=args.quantize, metadata_path=args.metadata,
                      images=images, image_source=source, backend=args.backend, verify=args.verify, limits=limits)
    except ConversionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
