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
from pathlib import Path

from training.defaults import (BATCH_SIZE, CACHE_DIR, CHANNELS, EPOCHS, IMAGE_SIZE, INTENSITY, INTENSITY_MODES,
                               LEARNING_RATE, MODELS, PASTE_SHARE, PATIENCE, SAMPLING, SAMPLING_MODES, SEED,
                               SKULL)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR",
                        help="one or more folders of class folders (folder name = label); several are merged by class name")
    parser.add_argument("--model", default="compact", choices=MODELS, help="registered model to train (default: compact)")
    parser.add_argument("--out", required=True, help="folder for model.h5, metadata.json, curves.png, split.csv")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"maximum epochs; early stopping usually ends sooner (default {EPOCHS})")
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE, help=f"model input height and width in pixels (default {IMAGE_SIZE})")
    parser.add_argument("--channels", type=int, default=CHANNELS, choices=(1, 3), help=f"1 = grayscale, 3 = RGB (default {CHANNELS})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"images per step and replica (default {BATCH_SIZE})")
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help=f"Adam learning rate (default {LEARNING_RATE})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed for the split, initial weights and augmentation (default {SEED})")
    parser.add_argument("--patience", type=int, default=PATIENCE,
                        help=f"stop after this many epochs without a better validation loss (default {PATIENCE})")
    parser.add_argument("--class-weight", default="none", choices=("none", "balanced"),
                        help="'balanced' weighs each class's loss by n / (classes * n_class) (default none)")
    parser.add_argument("--intensity", default=INTENSITY, choices=INTENSITY_MODES,
                        help="intensity augmentation: 'curve' = one random curve on half the images; 'stacked' = "
                             "random curve or per-tissue intensities, contrast inversion and bias field, stacked "
                             f"(default {INTENSITY})")
    parser.add_argument("--skull", action=argparse.BooleanOptionalAction, default=SKULL,
                        help="skull and background augmentation: strip the skull, draw one, lift the background "
                             f"(default {'on' if SKULL else 'off'})")
    parser.add_argument("--sampling", default=SAMPLING, choices=SAMPLING_MODES,
                        help="'balanced' draws training images so each collection x class has a share of "
                             f"sqrt(its size); 'natural' shuffles (default {SAMPLING})")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this many minutes")
    parser.add_argument("--cache-dir", default=CACHE_DIR, help=f"where decoded images are cached; '' to disable (default {CACHE_DIR})")
    parser.add_argument("--external", nargs="*", default=[], metavar="DIR",
                        help="folders of collections absent from --data: tumour sensitivity/specificity on unseen sources")
    parser.add_argument("--report", default=None, help="also write a Markdown report (and JSON beside it) here")
    parser.add_argument("--ship", default=None, metavar="DIR", help="copy model.h5 and metadata.json here (e.g. frontend/model)")
    parser.add_argument("--distribute", action="store_true",
                        help="train under tf.distribute: MultiWorkerMirroredStrategy when TF_CONFIG is set, else MirroredStrategy on this machine")
    parser.add_argument("--init-from", default=None, metavar="MODEL_H5",
                        help="start from this saved model's weights (same --model and input) instead of random "
                             "ones, e.g. to train a run longer on the same split (same --data and --seed)")
    parser.add_argument("--paste-share", type=float, default=PASTE_SHARE,
                        help="share of glioma draws replaced by a masked tumour pasted into another collection's "
                             f"normal slice of the same sequence; 0 turns it off (default {PASTE_SHARE})")
    parser.add_argument("--split-from", default=None, metavar="SPLIT_CSV",
                        help="keep an earlier run's subsets (its split.csv) for the images it lists and split only "
                             "new ones, e.g. to add collections to a model trained before (with --init-from)")
    parser.add_argument("--cpu-devices", type=int, default=0,
                        help="split the CPU into this many logical devices (to try --distribute on one machine)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from training.data import prepare_data
    from training.fit import configure_cpu_devices, train_model
    from training.report import write_report
    from training.runs import save_and_evaluate, ship_run

    configure_cpu_devices(args.cpu_devices)
    data = prepare_data(args.data, args.image_size, args.channels, args.seed, args.cache_dir or None,
                        split_from=args.split_from)
    model, history, seconds = train_model(args.model, data, args.epochs, args.batch_size, args.learning_rate,
                                          args.seed, args.max_minutes, args.distribute, patience=args.patience,
                                          class_weight=args.class_weight, intensity=args.intensity,
                                          skull=args.skull, sampling=args.sampling, init_from=args.init_from,
                                          paste_share=args.paste_share)
    out = Path(args.out)
    report = Path(args.report) if args.report else None
    settings = {k: v for k, v in vars(args).items() if k not in ("data", "out", "external", "report", "ship")}
    result = save_and_evaluate(args.model, model, data, history, seconds, settings, out, args.external,
                               args.cache_dir or None, report)
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
