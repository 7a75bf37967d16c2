"""Per-slice agreement of the shipped model with the expert tumour masks of whole BraTS volumes
(training/volume_report/mask_agreement.py says how a slice's truth and figures are made).

    python -m training.volume_report [--volumes ../shared/data/volumes/brats2018]
        [--model frontend/model/model.h5] [--report reports/volumes.md]

Rerun it after shipping a new model: the figures are the model's.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "volumes.md"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.volume_report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--volumes", type=Path, default=ROOT.parent / "shared" / "data" / "volumes" / "brats2018",
                   help="a folder of BraTS patients: <patient>/<patient>_<sequence>.nii.gz and <patient>_seg.nii.gz")
    p.add_argument("--model", type=Path, default=ROOT / "frontend" / "model" / "model.h5",
                   help="model.h5 (metadata.json beside it names its labels and input size)")
    p.add_argument("--report", type=Path, default=REPORT, help="Markdown report path")
    args = p.parse_args(argv)
    if not args.volumes.is_dir():
        raise SystemExit(f"{args.volumes} is not a folder of BraTS patients (<patient>/<patient>_<sequence>.nii.gz).")
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from mri.contract import read_metadata
    from mri.layers import load_model
    from training.volume_report.mask_agreement import collect, write_report

    metadata = read_metadata(args.model.with_name("metadata.json"))
    rows = collect(args.volumes, load_model(str(args.model)), metadata)
    if not rows:
        raise SystemExit(f"No volume with a _seg mask found in {args.volumes}.")
    command = "python -m training.volume_report" + ("" if args.report == REPORT else f" --report {args.report}")
    model_path = args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model
    write_report(rows, metadata, args.volumes, model_path, command, args.report)
    print(f"wrote {args.report} ({len(rows)} slices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
