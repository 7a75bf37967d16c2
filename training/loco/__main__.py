"""Leave one collection out: train on every collection but one, then judge tumour detection on the
whole collection left out, the standard estimate of "a hospital the model never saw".

    python -m training.loco --data ../shared/data/brain-mri-4class ../shared/data/brain-mri-lgg-flair \\
        ../shared/data/brain-mri-brats ../shared/data/brain-mri-alzheimer-t1 \\
        ../shared/data/brain-mri-openneuro-t1 --out runs/loco --report reports/loco.md --epochs 12

Each fold trains with the same settings as `training.train` (its flags below), usually shorter
(the report says how long). Collections with tumour and normal images get sensitivity,
specificity and ROC AUC; normal-only ones get specificity; BraTS-style collections that name the
sequence also get figures per sequence. Files of TRAIN_ONLY_PATIENTS are never judged on: they may
be the same people as another collection's. The report is rewritten after every fold.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from training.settings import LOCO_EPOCHS, add_training_flags


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.loco", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="every collection (folder of class folders)")
    p.add_argument("--hold-out", nargs="+", default=None, metavar="DIR",
                   help="the collections to leave out, one fold each (default: every --data folder); "
                        "DIR,DIR,... leaves several out together as one fold (the small collections)")
    p.add_argument("--external", nargs="*", default=[], metavar="DIR",
                   help="whole collections no fold trains on, judged by every fold (e.g. brain-mri-yes-no)")
    p.add_argument("--out", required=True, help="folder for one model.h5 per fold")
    p.add_argument("--report", required=True, help="Markdown report (JSON beside it), rewritten after every fold")
    p.add_argument("--resume", action="store_true",
                   help="keep the folds already finished (each fold's figures, written beside --report when it ends: "
                        "reports/loco/<collection>.json) and run only the others, so a run too long for one sitting "
                        "continues from what was committed; an unfinished fold resumes from its last finished "
                        "epoch, saved in reports/loco/partial/<fold>/ after every epoch: commit that folder too")
    add_training_flags(p, skip=("init_from", "split_from", "patience", "backup_dir"), epochs=LOCO_EPOCHS)
    args = p.parse_args(argv)
    if overlap := set(args.external) & set(args.data):
        p.error(f"--external {sorted(overlap)} must not be among the --data folders: no fold may train on it.")
    unknown = {d for fold in args.hold_out or [] for d in fold.split(",")} - set(args.data)
    if unknown:
        p.error(f"--hold-out {sorted(unknown)} must be among the --data folders.")
    if len(args.data) < 2:
        p.error("leave-one-collection-out needs two or more --data folders.")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # The library starts TensorFlow (seconds): only after the flags are read, so --help is instant.
    from mri.contract import find_no_tumor_label
    from training.folders import labels_of, scan_folders
    from training.loco.folds import finished_fold, fold_name, run_fold, write_report
    from training.report import percent

    labels = labels_of(scan_folders(args.data))
    if find_no_tumor_label(labels) is None:
        raise SystemExit(f"No no-tumour class among {labels}: tumour detection needs one.")
    folds = []
    for held_out in args.hold_out or args.data:
        if args.resume and (done := finished_fold(held_out, args)):
            print(f"{fold_name(held_out)}: finished before, kept", flush=True)
            folds.append(done)
            continue
        start = time.monotonic()
        print(f"\n=== {fold_name(held_out)} held out ===", flush=True)
        folds.append(run_fold(held_out, args.data, labels, args))
        write_report(folds, args, Path(args.report))
        print(f"{fold_name(held_out)}: sensitivity {percent(folds[-1]['tumor_sensitivity'])}, specificity "
              f"{percent(folds[-1]['tumor_specificity'])} ({(time.monotonic() - start) / 60:.1f} min)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
