"""Train every registered model on one leak-free split, compare them on the held-out test subset
(and on whole collections they never saw), pick the winner by validation macro-F1, and ship it.

    python -m training.compare --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        --external ../shared/data/brain-mri-yes-no --out runs/compare --report reports/comparison.md \\
        --ship frontend/model
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from training.settings import add_training_flags, settings_from


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, metavar="DIR",
                   help="folders of class folders, merged by class name")
    p.add_argument("--out", required=True,
                   help="folder for one sub-folder per model (model.h5, metadata.json, curves, split.csv)")
    p.add_argument("--models", nargs="+", default=None, metavar="NAME",
                   help="registered models to compare (default: every one training.models registers)")
    p.add_argument("--external", nargs="*", default=[], metavar="DIR",
                   help="folders of a collection absent from --data, to measure tumour detection on unseen sources")
    p.add_argument("--report", default=None,
                   help="Markdown report path (default: OUT/comparison.md); JSON is written beside it")
    p.add_argument("--ship", default=None, metavar="DIR",
                   help="copy the winner's model.h5 and metadata.json here (e.g. frontend/model)")
    add_training_flags(p, skip=("model", "init_from"))
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from training.data import prepare_data
    from training.evaluate import pick_winner
    from training.fit import train_model
    from training.models import list_models
    from training.report import write_report
    from training.runs import save_and_evaluate, ship_run

    start = time.monotonic()
    base = settings_from(args)
    cache = base.cache_dir or None
    out = Path(args.out)
    report = Path(args.report) if args.report else out / "comparison.md"
    figures = report.parent / report.stem
    data = prepare_data(args.data, base.image_size, base.channels, base.seed, cache, split_from=base.split_from)
    results = []
    for name in args.models or list_models():
        print(f"\n=== {name} ===", flush=True)
        settings = settings_from(args, model=name)
        model, history, seconds, _ = train_model(data, settings, verbose=2)
        result = save_and_evaluate(name, model, data, history, seconds, asdict(settings), out / name, args.external,
                                   cache, report)
        results.append(result)
        print(f"{name}: test accuracy {result['test']['accuracy']:.4f}, macro-F1 {result['test']['macro_f1']:.4f}, "
              f"{result['file_bytes'] / 1e6:.2f} MB, {result['cpu_ms_per_image']:.2f} ms/img", flush=True)
    winner = pick_winner(results)
    seconds = time.monotonic() - start
    write_report(results, winner, data, args, seconds, report, figures, "training.compare")
    report.with_suffix(".json").write_text(json.dumps(
        {"winner": winner["model"], "seconds": round(seconds, 1), "data": args.data,
         "results": results}, indent=2) + "\n")
    # The split travels with the report so anyone can audit it or evaluate on the same test subset.
    shutil.copy(out / winner["model"] / "split.csv", figures / "split.csv")
    print(f"Winner: {winner['model']}; report {report}")
    if args.ship:
        ship_run(out / winner["model"], Path(args.ship))
    return 0


if __name__ == "__main__":
    sys.exit(main())
