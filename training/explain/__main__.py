"""Where the model looked in one file: its occlusion-sensitivity map (training.explain.occlusion), as JSON,
a PNG overlay or the raw array.

    python -m training.explain --model frontend/model/model.h5 scan.jpg --out heatmap.png
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.explain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path, help="a JPEG, PNG or DICOM file to explain")
    parser.add_argument("--model", type=Path, default=Path("frontend/model/model.h5"),
                        help="the Keras model (default: %(default)s); its metadata.json must sit beside it")
    parser.add_argument("--label", help="the class to explain (default: the model's top class)")
    parser.add_argument("--out", type=Path, help="write the heatmap over the image to this PNG file")
    parser.add_argument("--npy", type=Path, help="write the raw map (float32 [h, w]) to this .npy file")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from training.explain.occlusion import explain_file, overlay

    summary = explain_file(args.model, args.image, args.label)
    image, heatmap = summary.pop("image"), summary.pop("heatmap")
    if args.out:
        overlay(image, heatmap).save(args.out)
    if args.npy:
        np.save(args.npy, heatmap)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
