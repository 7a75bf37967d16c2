"""Train one registered model on folders of class folders and save model.h5 + metadata.json.

    python -m training.train --data ../shared/data/brain-mri-4class --model compact --out runs/compact

Reads top to bottom like the workflow: data (decode once, group near-duplicates, split by group),
augmentation (training subset only, never inside the saved model), model, fit, save.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from training.settings import add_training_flags, settings_from


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR",
                        help="one or more folders of class folders (folder name = label); several are merged "
                             "by class name")
    parser.add_argument("--out", required=True, help="folder for model.h5, metadata.json, curves.png, split.csv")
    parser.add_argument("--external", nargs="*", default=[], metavar="DIR",
                        help="folders of collections absent from --data: tumour sensitivity/specificity on "
                             "unseen sources")
    parser.add_argument("--report", default=None, help="also write a Markdown report (and JSON beside it) here")
    parser.add_argument("--ship", default=None, metavar="DIR",
                        help="copy model.h5 and metadata.json here (e.g. frontend/model)")
    parser.add_argument("--distribute", action="store_true",
                        help="train under tf.distribute: MultiWorkerMirroredStrategy when TF_CONFIG is set, else "
                             "MirroredStrategy on this machine")
    parser.add_argument("--cpu-devices", type=int, default=0,
                        help="split the CPU into this many logical devices (to try --distribute on one machine)")
    add_training_flags(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from training.data import prepare_data
    from training.fit import configure_cpu_devices, train_model
    from training.report import write_report
    from training.runs import save_and_evaluate, ship_run

    settings = settings_from(args)
    configure_cpu_devices(args.cpu_devices)
    data = prepare_data(args.data, settings.image_size, settings.channels, settings.seed, settings.cache_dir or None,
                        split_from=settings.split_from)
    model, history, seconds, outline = train_model(data, settings, args.distribute)
    out = Path(args.out)
    report = Path(args.report) if args.report else None
    result = save_and_evaluate(args.model, model, data, history, seconds, asdict(settings), out, args.external,
                               settings.cache_dir or None, report)
    if outline is not None:
        from training.outline import outline_figures
        outline.save(out / "outline.h5", include_optimizer=False)
        result["outline"] = outline_figures(outline, data)
    if report:
        figures = report.parent / report.stem
        shutil.copy(out / "split.csv", figures / "split.csv")
        write_report([result], result, data, args, seconds, report, figures, "training.train")
        report.with_suffix(".json").write_text(json.dumps({"results": [result]}, indent=2) + "\n")
    if args.ship:
        ship_run(out, Path(args.ship))
    print(f"Saved {out}/model.h5; test accuracy {result['test']['accuracy']:.4f}, "
          f"macro-F1 {result['test']['macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
