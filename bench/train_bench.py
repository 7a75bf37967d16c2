"""Training throughput of the shipped recipe on this machine, in images per second, split into its
two halves: the tf.data augmentation alone (with copy-paste), the model's training step alone (on
one batch held in memory), and the two together as `training.train` runs them.

    python -m bench.train_bench [--data DIR ...] [--steps 60] [--report reports/train-bench.md]

Run it on a quiet machine: both halves share the same cores, so anything else running halves them.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEFAULT_DATA = [DATA / name for name in ("brain-mri-4class", "brain-mri-lgg-flair", "brain-mri-brats",
                                         "brain-mri-alzheimer-t1", "brain-mri-openneuro-t1", "brain-mri-ixi-hh-t1")]


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.train_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=[str(d) for d in DEFAULT_DATA], metavar="DIR",
                   help="collections to draw the training subset from (default: the shipped model's, plus IXI)")
    p.add_argument("--steps", type=int, default=60, help="batches timed per measurement, after 5 warm-up ones")
    p.add_argument("--report", default=None, help="write the figures as Markdown here")
    return p.parse_args(argv)


def images_per_second(run, steps: int, batch: int) -> float:
    run(5)
    start = time.perf_counter()
    run(steps)
    return steps * batch / (time.perf_counter() - start)


def main(argv=None) -> int:
    args = parse_args(argv)
    import keras

    from training.data import prepare_data, sampling_weights
    from training.fit import TumourAwareLoss, make_dataset
    from training.models import create_model
    from training.paste import plan_pastes
    from training.settings import DEFAULTS as s

    data = prepare_data(args.data, s.image_size, s.channels, s.seed, s.cache_dir)
    x, y = data.subset("train")
    train = data.mask("train")
    weights = sampling_weights([f"{r.source}/{r.label}" for r, sub in zip(data.records, data.subsets) if sub == "train"])
    glioma, notumor = data.labels.index("glioma"), data.labels.index("notumor")
    masks = data.masks[train]
    pastes = lambda order: plan_pastes(order, y, data.collections("train"), data.sequences("train"),
                                       masks.sum(axis=(1, 2)), glioma, notumor, s.paste_share, s.seed)
    dataset = make_dataset(x, y, s.batch_size, training=True, intensity=s.intensity, skull=s.skull, weights=weights,
                           epochs=4, pastes=pastes, masks=masks, glioma=glioma)
    batches = iter(dataset)
    augmentation = images_per_second(lambda n: [next(batches) for _ in range(n)], args.steps, s.batch_size)

    model = create_model(s.model, data.input_shape, len(data.labels))
    model.compile(optimizer=keras.optimizers.Adam(s.learning_rate), loss=TumourAwareLoss(notumor, len(data.labels)))
    one_x, one_y = next(batches)
    model_step = images_per_second(lambda n: [model.train_on_batch(one_x, one_y) for _ in range(n)], args.steps,
                                   s.batch_size)
    together = images_per_second(lambda n: model.fit(dataset, steps_per_epoch=n, epochs=1, verbose=0), args.steps,
                                 s.batch_size)
    rows = [("augmentation alone (tf.data, copy-paste on)", augmentation), ("model step alone", model_step),
            ("together (training.train's loop)", together)]
    for name, value in rows:
        print(f"{name}: {value:.0f} images/s")
    if args.report:
        lines = ["# Training throughput", "", "Rerun: `python -m bench.train_bench" +
                 (f" --steps {args.steps}" if args.steps != 60 else "") + f" --report {args.report}`", "",
                 f"Recipe: model `{s.model}`, {s.image_size} px, batch {s.batch_size}, intensity `{s.intensity}`, "
                 f"skull augmentation {'on' if s.skull else 'off'}, sampling `{s.sampling}`, paste share "
                 f"{s.paste_share}; {len(y)} training images of {len(args.data)} collections. Machine: "
                 f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}; {args.steps} batches a figure; "
                 f"load average {os.getloadavg()[0]:.1f} when it ended (above the core count, other work shared them).",
                 "", "| part | images / s |", "|---|---:|"]
        lines += [f"| {name} | {value:.0f} |" for name, value in rows]
        Path(args.report).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
