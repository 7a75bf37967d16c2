"""Training throughput of the shipped recipe on this machine, in images per second, split into its
two halves: the tf.data augmentation alone, the model's training step alone (on one batch held in
memory), and the two together as `training.train` runs them; the model step and the two together
also with Keras's own batch-norm ops, as training ran before training.fused_batch_norm.

    python -m bench.train_bench [--data DIR ...] [--steps 80] [--report reports/train-bench.md]

Run it on a quiet machine: both halves share the same cores, so anything else running halves them.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.machine import machine

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEFAULT_DATA = [DATA / name for name in ("brain-mri-4class", "brain-mri-lgg-flair", "brain-mri-brats",
                                         "brain-mri-alzheimer-t1", "brain-mri-openneuro-t1", "brain-mri-ixi-hh-t1")]


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.train_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=[str(d) for d in DEFAULT_DATA], metavar="DIR",
                   help="collections to draw the training subset from (default: the shipped model's, plus IXI)")
    p.add_argument("--steps", type=int, default=80, help="batches timed per measurement, after 5 warm-up ones")
    p.add_argument("--outline-weight", type=float, default=0.0,
                   help="with the outline head beside the classifier (training.outline), as --outline-weight trains")
    p.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32",
                   help="Keras dtype policy of the model (its cropping and standardisation stay float32)")
    p.add_argument("--report", default=None, help="write the figures as Markdown here")
    return p.parse_args(argv)


def images_per_second(run, steps: int, batch: int) -> float:
    run(5)
    start = time.perf_counter()
    run(steps)
    return steps * batch / (time.perf_counter() - start)


def fit_images_per_second(model, dataset, steps: int, batch: int) -> float:
    """Images per second of one `model.fit` over `steps` batches after 5 warm-up ones, in the same
    call: a second call would start a new iterator, whose shuffle buffer and prefetch fill again,
    which training does once per run, not once per batch."""
    import keras

    marks = {}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_index, logs=None):
            if batch_index in (4, 4 + steps):
                marks[batch_index] = time.perf_counter()

    model.fit(dataset, steps_per_epoch=5 + steps, epochs=1, verbose=0, callbacks=[Clock()])
    return steps * batch / (marks[4 + steps] - marks[4])


def main(argv=None) -> int:
    args = parse_args(argv)
    from dataclasses import replace

    import keras

    from training.data import prepare_data
    from training.fused_batch_norm import use_fused_batch_norm
    from training.models import compiled_model
    from training.pipelines import training_pipelines
    from training.settings import DEFAULTS

    keras.mixed_precision.set_global_policy(args.precision)
    s = replace(DEFAULTS, epochs=4, outline_weight=args.outline_weight)
    data = prepare_data(args.data, s.image_size, s.channels, s.seed, s.cache_dir)
    pipes = training_pipelines(data, s, s.batch_size)
    x_train = data.subset("train")[0]
    batches = iter(pipes.train)
    augmentation = images_per_second(lambda n: [next(batches) for _ in range(n)], args.steps, s.batch_size)

    _, model = compiled_model(data, s, pipes.steps_per_epoch)
    one_x, one_y = next(batches)
    rows = [("augmentation alone (tf.data" + (f", copy-paste share {s.paste_share:g})" if s.paste_share else ")"),
             augmentation)]
    for fused in (False, True):
        use_fused_batch_norm(fused)
        model.make_train_function(force=True)
        kind = "fused batch norm" if fused else "Keras's batch-norm ops"
        rows.append((f"model step alone, {kind}", images_per_second(
            lambda n: [model.train_on_batch(one_x, one_y) for _ in range(n)], args.steps, s.batch_size)))
        rows.append((f"together (training.train's loop), {kind}",
                     fit_images_per_second(model, pipes.train, args.steps, s.batch_size)))
    for name, value in rows:
        print(f"{name}: {value:.0f} images/s")
    if args.report:
        host, load = machine(), os.getloadavg()[0]
        lines = ["# Training throughput", "", "Rerun: `python -m bench.train_bench" +
                 (f" --steps {args.steps}" if args.steps != 80 else "") +
                 (f" --outline-weight {args.outline_weight:g}" if args.outline_weight else "") +
                 (f" --precision {args.precision}" if args.precision != "float32" else "") +
                 f" --report {args.report}`", "",
                 f"Recipe: model `{s.model}`, {s.image_size} px, batch {s.batch_size}, intensity `{s.intensity}`, "
                 f"skull augmentation {'on' if s.skull else 'off'}, sampling `{s.sampling}`, paste share "
                 f"{s.paste_share:g}, outline weight {s.outline_weight:g}, {args.precision}; {len(x_train)} "
                 f"training images of {len(args.data)} collections. Machine: {host['cores']} cores, {host['cpu']}; "
                 f"{args.steps} batches a figure; load average {load:.1f} when it ended"
                 + (" (above the core count: other work shared them)." if load > host["cores"] else "."),
                 "", "| part | images / s |", "|---|---:|"]
        lines += [f"| {name} | {value:.0f} |" for name, value in rows]
        Path(args.report).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
