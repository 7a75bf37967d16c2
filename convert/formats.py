"""What each weight format costs: convert the model once per format (float32, float16, uint8), run
each in Node with TF.js on the same inputs, compare with Keras, and render reports/convert.md.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from convert import WEIGHT_FORMATS
from convert.graph_model import export_graph_model, load_keras_model, strip_augmentation
from convert.parity import LIMITS, check_inputs, cross_check_on_cpu, keras_probabilities, measure_parity
from convert.pipeline import read_metadata
from convert.samples import REPO, shown


@dataclass
class Measurement:
    metadata: dict
    parameters: int
    inputs: object   # convert.parity.CheckInputs
    rows: list


@dataclass
class Row:
    quantization: str
    total_bytes: int
    weight_bytes: int
    convert_seconds: float
    parity: object   # convert.parity.Parity
    failures: list[str]
    cpu_parity: object = None  # float32 only: the same files on TF.js's cpu backend, to tell kernels apart


def measure(model_path: Path, metadata_path: Path | None, images, quantizations, backend: str = "wasm",
            log=print) -> Measurement:
    """Convert `model_path` to each format and compare each with Keras on the same inputs."""
    metadata_path = Path(metadata_path) if metadata_path else Path(model_path).with_name("metadata.json")
    metadata = read_metadata(metadata_path)
    model = load_keras_model(model_path)
    exportable, _ = strip_augmentation(model)
    size = metadata["input"]
    inputs = check_inputs(list(images), metadata["labels"], size["height"], size["width"], size["channels"])
    keras_p = keras_probabilities(model, inputs.pixels)
    rows = []
    for quantization in quantizations:
        with tempfile.TemporaryDirectory(prefix=f"tfjs-{quantization}-") as folder:
            start = time.perf_counter()
            graph = export_graph_model(exportable, Path(folder), quantization)
            seconds = time.perf_counter() - start
            sizes = {name: (graph.directory / name).stat().st_size for name in graph.files}
            parity = measure_parity(graph, keras_p, inputs, backend)
            cpu = (cross_check_on_cpu(graph, keras_p, inputs, parity)
                   if quantization == "none" and backend != "cpu" else None)
        row = Row(quantization, sum(sizes.values()), sum(sizes.values()) - sizes["model.json"], seconds,
                  parity, parity.failures(LIMITS[quantization]), cpu)
        log(f"{WEIGHT_FORMATS[quantization]}: {row.total_bytes / 1024:.0f} KiB, {parity.summary()}")
        rows.append(row)
    return Measurement(metadata, model.count_params(), inputs, rows)


@dataclass
class CommandTiming:
    seconds: float
    error: str | None   # the command's last error line when it failed, else None
    load: float = 0.0   # the 1-minute load average when it finished: other jobs slow it down


def time_convert_command(model_path: Path, metadata_path: Path | None, sample_args: list[str]) -> CommandTiming:
    """Wall-clock time of a complete `python -m convert` run into a scratch folder, and its outcome."""
    with tempfile.TemporaryDirectory(prefix="tfjs-timing-") as out:
        command = [sys.executable, "-m", "convert", "--model", str(model_path), "--out", out, *sample_args]
        if metadata_path:
            command += ["--metadata", str(metadata_path)]
        start = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True, cwd=REPO,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        seconds = time.perf_counter() - start
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    load = os.getloadavg()[0]
    if run.returncode == 0:
        return CommandTiming(seconds, None, load)
    return CommandTiming(seconds, errors[-1] if errors else f"exit status {run.returncode}", load)


def recommendation(rows: list[Row]) -> tuple[str, str]:
    """(the --quantize value to ship, why): float16 when it costs at most 0.2 accuracy points, else float32."""
    by_name = {row.quantization: row for row in rows}
    half = by_name.get("float16")
    if half is None:
        return "none", "float16 was not measured, so the model ships as float32."
    if not half.parity.keras_outputs_vary:
        return "none", ("the Keras model gives the same answer for every input, so these figures cannot show what "
                        "float16 costs: ship float32 until a trained model is measured.")
    if half.parity.labelled_images == 0:
        return "none", "no labelled images were given, so float16's accuracy cost is unknown: ship float32."
    if half.failures:
        return "none", "float16 fails its limits (" + "; ".join(half.failures) + "): ship float32."
    saved = 1 - half.total_bytes / by_name["none"].total_bytes if "none" in by_name else None
    return "float16", (f"float16 changes accuracy by {half.parity.accuracy_change:+.2f} points (limit -0.2) and "
                       + (f"saves {saved:.0%} of the download" if saved is not None else "halves the weights")
                       + ": ship float16.")


def render(model_path: Path, measured: Measurement, source: str, command: str, timing: CommandTiming | None) -> str:
    metadata, inputs, rows = measured.metadata, measured.inputs, measured.rows
    digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    float32 = next((row for row in rows if row.quantization == "none"), None)
    keras_accuracy = rows[0].parity.keras_accuracy if rows else None
    lines = [
        "# Converting the Keras model to TF.js: size, agreement, accuracy",
        "",
        f"Generated by `{command}`; run it again after training to refresh.",
        "",
        f"- Model: `{shown(model_path)}` (sha256 `{digest[:16]}…`), architecture "
        f"`{metadata.get('architecture', '?')}`, {measured.parameters:,} parameters.",
    ]
    note = metadata.get("training", {}).get("note") if isinstance(metadata.get("training"), dict) else None
    if note:
        lines.append(f"- Training note: {note}.")
    labelled = sum(label is not None for label in inputs.labels)
    lines += [
        f"- Inputs: {inputs.real} real images from {source}, {labelled} of them "
        f"with a label the model knows; then {len(inputs.names) - inputs.real} synthetic ones (black, white, "
        "gradients, checkerboard, disc, noise).",
        f"- Keras accuracy on the labelled images: {_percent(keras_accuracy)}. One image is "
        f"{100 / max(1, labelled):.2g} points.",
        f"- Runtime: TF.js {rows[0].parity.tfjs_version if rows else '?'}, {rows[0].parity.backend if rows else '?'} "
        "backend in Node, one image per call as the page runs it.",
        "",
        "| weights | download | vs float32 | max abs Δp vs Keras: real images / all | top-1 agreement "
        "| TF.js accuracy | change (points) | ms/image (Node) | within limits |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        p = row.parity
        ratio = f"{row.total_bytes / float32.total_bytes:.0%}" if float32 else "–"
        change = f"{p.accuracy_change:+.2f}" if p.accuracy_change is not None else "–"
        lines.append(f"| {WEIGHT_FORMATS[row.quantization]} | {row.total_bytes / 1024:.0f} KiB | {ratio} "
                     f"| {_figure(p.max_abs_diff_real)} / {p.max_abs_diff:.2g} | {p.top1_agreement:.2%} "
                     f"| {_percent(p.tfjs_accuracy)} | {change} "
                     f"| {p.ms_per_image:.1f} | {'yes' if not row.failures else 'no: ' + '; '.join(row.failures)} |")
    if float32 is not None and float32.cpu_parity is not None:
        cpu = float32.cpu_parity
        lines += ["", f"Cross-check: on the {cpu.inputs} inputs where {float32.parity.backend} strays furthest, the "
                  f"same float32 files on TF.js's cpu backend stray by at most {cpu.max_abs_diff:.2g}. Where the "
                  f"{float32.parity.backend} row's figure is much larger, a {float32.parity.backend} kernel computes "
                  "differently (for example a whole-image mean summed in one float32 loop), not the conversion."]
    choice, why = recommendation(rows)
    lines += ["", "## Decision", "", why,
              f"Convert with `python -m convert --model frontend/model/model.h5 --out frontend/model/"
              f"{'' if choice == 'none' else ' --quantize ' + choice}`."]
    if float32 is not None and float32.failures:
        lines += ["", f"**float32 fails its own check** ({'; '.join(float32.failures)}), so `python -m convert` "
                  "refuses this model until that is fixed; the line above on the cpu backend says where to look."]
    if not any(row.parity.keras_outputs_vary for row in rows):
        lines += ["", "**The Keras model gives the same probabilities for every input** (an untrained model?): "
                  "these figures check the plumbing, not the cost of quantisation."]
    lines += ["", "## Limits `python -m convert` enforces", "",
              "| weights | max abs Δp | min top-1 agreement | max accuracy drop |", "| --- | ---: | ---: | ---: |"]
    for name, limits in LIMITS.items():
        drop = "–" if limits.max_accuracy_drop is None else _points(limits.max_accuracy_drop)
        lines.append(f"| {WEIGHT_FORMATS[name]} | {limits.max_prob_diff:g} | "
                     f"{limits.min_top1_agreement:.0%} | {drop} |")
    lines += ["", "float32 must match Keras to 1e-5 with the same top-1 on every input: the arithmetic is the "
              "same up to summation order, so anything more is a conversion bug or a TF.js kernel that computes "
              "differently (the cpu cross-check tells which). Quantised weights move "
              "probabilities by design; their limits bound the move, and the accuracy limit (checked only "
              "on labelled images) is the one that decides whether the format is worth shipping."]
    times = [f"Exporting and converting took {float32.convert_seconds:.1f} s" if float32 else None,
             f"a complete `python -m convert` run (Python start-up, TensorFlow import, conversion, "
             f"verification on the same images) took {timing.seconds:.1f} s of wall-clock time, with a load "
             f"average of {timing.load:.1f} on {os.cpu_count()} CPUs" if timing is not None else None]
    times = [t for t in times if t]
    if times:
        lines += ["", "## Time", "", "; ".join(times) + " (target: 60 s)."]
    if timing is not None and timing.error:
        lines += ["", f"That run failed, as it should when the check fails: `{timing.error}`"]
    return "\n".join(lines) + "\n"


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def _figure(value) -> str:
    return "–" if value is None else f"{value:.2g}"


def _percent(value) -> str:
    return "–" if value is None else f"{value:.2f} %"
