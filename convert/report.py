"""Measure what each weight format costs and write reports/convert.md.

    python -m convert.report --model frontend/model/model.h5 --split runs/<run>/split.csv

Converts the model once per format (float32, float16, uint8), runs each in Node with TF.js on the
labelled images and the synthetic inputs, and reports size, agreement with Keras and accuracy. The
report recommends what ships: float16 when it costs at most 0.2 accuracy points, else float32.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from convert import QUANTIZATIONS, ConversionError
from convert.samples import REPO, add_sample_arguments, shown

DEFAULT_REPORT = REPO / "reports" / "convert.md"
# Enough for the whole test subset of brain-mri-4class.
REPORT_LIMIT = 1000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convert.report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=REPO / "frontend" / "model" / "model.h5",
                        help="the Keras model to measure (default: the shipped frontend/model/model.h5)")
    parser.add_argument("--metadata", type=Path, default=None,
                        help="its metadata.json (default: the one beside --model)")
    parser.add_argument("--quantize", default=",".join(QUANTIZATIONS),
                        help="comma-separated weight formats to measure (default: %(default)s)")
    parser.add_argument("--backend", choices=("wasm", "cpu"), default="wasm",
                        help="TF.js backend to run on; the page uses wasm (default: %(default)s)")
    parser.add_argument("--no-timing", dest="timing", action="store_false",
                        help="skip timing a complete `python -m convert` run (saves a conversion)")
    parser.add_argument("--out", type=Path, default=DEFAULT_REPORT,
                        help="where to write the Markdown report (default: reports/convert.md)")
    add_sample_arguments(parser, default_limit=REPORT_LIMIT)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quantizations = [q.strip() for q in args.quantize.split(",") if q.strip()]
    unknown = sorted(set(quantizations) - set(QUANTIZATIONS))
    if unknown or not quantizations:
        print(f"error: --quantize takes a comma-separated list of {', '.join(QUANTIZATIONS)}; got {args.quantize!r}.",
              file=sys.stderr)
        return 2
    if not args.model.is_file():
        print(f"error: {args.model} does not exist; pass the .h5 file that training wrote.", file=sys.stderr)
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from convert.formats import measure, recommendation, render, time_convert_command
    from convert.samples import images_from_args

    try:
        images, source = images_from_args(args)
        measured = measure(args.model, args.metadata, images, quantizations, args.backend)
        # The timed run checks the same images: same source, same seed, the same count.
        same_images = _sample_args(args, limit=len(images))
        timing = time_convert_command(args.model, args.metadata, same_images) if args.timing else None
    except ConversionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    command = " ".join(["python -m convert.report", "--model", shown(args.model), *_sample_args(args, args.limit)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(args.model, measured, source, command, timing))
    print(f"Wrote {args.out}. Ship with --quantize {recommendation(measured.rows)[0]}.")
    return 0


def _sample_args(args, limit: int | None) -> list[str]:
    """The image-sample flags, to repeat them in the timed run and in the report."""
    found = []
    if args.split is not None:
        found += ["--split", shown(args.split), "--subset", args.subset]
    elif args.images is not None:
        found += ["--images", shown(args.images)]
    if limit is not None:
        found += ["--limit", str(limit)]
    return found


if __name__ == "__main__":
    sys.exit(main())
