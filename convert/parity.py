"""Prove a converted model agrees with Keras: the same float32 inputs through both, compared.

Python writes the inputs as raw float32, `node convert/verify.mjs` runs them through TF.js (wasm
backend, one image per call, as the page does) and writes the probabilities back. Inputs are real
images (decoded by `mri.images`, the one Python definition of image -> model input) and
synthetic ones chosen to reach the edges of the model's arithmetic (black, white, gradients, noise).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from convert import ConversionError, ParityError
from convert.graph_model import GraphModel
from convert.samples import REPO, LabelledImage
from mri.images import ImageDecodeError, load_model_input

VERIFY_SCRIPT = Path(__file__).with_name("verify.mjs")
# What verify.mjs imports (package.json installs them).
NPM_PACKAGES = ("@tensorflow/tfjs-core", "@tensorflow/tfjs-converter", "@tensorflow/tfjs-backend-cpu",
                "@tensorflow/tfjs-backend-wasm")
SYNTHETIC_COUNT = 16
CROSS_CHECK_INPUTS = 32
NODE_TIMEOUT_S = 600


@dataclass(frozen=True)
class Limits:
    """How far a converted model may stray from Keras before conversion fails."""

    max_prob_diff: float            # largest |p_tfjs - p_keras| over every input and class
    min_top1_agreement: float       # share of inputs whose top-1 class is the same, 0-1
    max_accuracy_drop: float | None  # percentage points on the labelled images; None: not checked


# float32: the arithmetic is the same up to summation order (whole-image means taken in stages,
# see wasm_diagnosis), so 1e-5 leaves room for that and none for a wrong layer, weight or
# preprocessing step. float16 keeps ~3 significant digits per weight and may cost at most 0.2
# accuracy points; uint8 keeps 256 levels per tensor, hence the looser bounds
# (reports/convert.md has the figures).
LIMITS = {
    "none": Limits(max_prob_diff=1e-5, min_top1_agreement=1.0, max_accuracy_drop=None),
    "float16": Limits(max_prob_diff=0.02, min_top1_agreement=0.99, max_accuracy_drop=0.2),
    "uint8": Limits(max_prob_diff=0.15, min_top1_agreement=0.97, max_accuracy_drop=1.0),
}


@dataclass
class CheckInputs:
    """The float32 inputs both runtimes see, what each one is, and its label index if known."""

    pixels: np.ndarray
    names: list[str]
    labels: list[int | None]
    real: int
    skipped: list[str] = field(default_factory=list)


@dataclass
class Parity:
    inputs: int
    real_images: int
    labelled_images: int
    max_abs_diff: float
    max_abs_diff_real: float | None  # the same over the real images only
    worst_input: str
    top1_agreement: float
    top1_disagreements: list[str]
    keras_accuracy: float | None     # percent, on the labelled images
    tfjs_accuracy: float | None
    keras_outputs_vary: bool         # False: every input gave the same answer, a weak check
    input_diffs: np.ndarray | None = field(default=None, repr=False)  # max |Δp| per input
    backend: str = ""
    tfjs_version: str = ""
    ms_per_image: float = 0.0

    @property
    def accuracy_change(self) -> float | None:
        """TF.js accuracy minus Keras accuracy, in percentage points."""
        if self.keras_accuracy is None:
            return None
        return self.tfjs_accuracy - self.keras_accuracy

    def failures(self, limits: Limits) -> list[str]:
        found = []
        if self.max_abs_diff > limits.max_prob_diff:
            found.append(f"a probability differs by {self.max_abs_diff:.3g} (limit {limits.max_prob_diff:g}) "
                         f"on {self.worst_input}")
        if self.top1_agreement < limits.min_top1_agreement:
            shown = ", ".join(self.top1_disagreements[:5])
            more = f" and {len(self.top1_disagreements) - 5} more" if len(self.top1_disagreements) > 5 else ""
            found.append(f"the top-1 class differs on {len(self.top1_disagreements)} of {self.inputs} inputs "
                         f"(agreement {self.top1_agreement:.2%}, limit {limits.min_top1_agreement:.2%}): {shown}{more}")
        change = self.accuracy_change
        if limits.max_accuracy_drop is not None and change is not None and -change > limits.max_accuracy_drop:
            found.append(f"accuracy falls by {-change:.2f} points on {self.labelled_images} labelled images "
                         f"(limit {limits.max_accuracy_drop:g})")
        return found

    def check(self, limits: Limits, what: str) -> None:
        found = self.failures(limits)
        if found:
            raise ParityError(f"{what} does not agree with the Keras model: " + "; ".join(found) + ".")

    def summary(self) -> str:
        real = f" ({self.max_abs_diff_real:.2g} on the real images)" if self.max_abs_diff_real is not None else ""
        text = (f"{self.inputs} inputs ({self.real_images} real images) on TF.js {self.tfjs_version} "
                f"{self.backend}: max |Δp| {self.max_abs_diff:.2g}{real}, top-1 agreement {self.top1_agreement:.2%}")
        if self.keras_accuracy is not None:
            text += (f", accuracy on {self.labelled_images} labelled images Keras {self.keras_accuracy:.2f} % "
                     f"/ TF.js {self.tfjs_accuracy:.2f} %")
        return text + f", {self.ms_per_image:.1f} ms per image in Node"

    def as_metadata(self, limits: Limits) -> dict:
        """The figures worth keeping in metadata.json; timings are left out so that converting the
        same model again rewrites the same file."""
        record = asdict(self)
        record["max_abs_diff"] = float(f"{self.max_abs_diff:.3g}")
        if self.max_abs_diff_real is not None:
            record["max_abs_diff_real"] = float(f"{self.max_abs_diff_real:.3g}")
        record["top1_disagreements"] = len(self.top1_disagreements)
        record["limits"] = asdict(limits)
        for volatile in ("ms_per_image", "tfjs_version", "input_diffs"):
            del record[volatile]
        return record


def synthetic_inputs(height: int, width: int, channels: int, count: int = SYNTHETIC_COUNT):
    """Inputs that reach the edges: constant images (zero variance for per-image standardisation),
    full-range gradients and a checkerboard (large activations), then seeded uniform noise."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None] * np.ones((1, width), np.float32)
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :] * np.ones((height, 1), np.float32)
    yy, xx = np.mgrid[:height, :width]
    checker = (((yy // 8) + (xx // 8)) % 2 * 255).astype(np.float32)
    disc = np.where((yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (min(height, width) / 3) ** 2,
                    200.0, 10.0).astype(np.float32)
    named = {"black": np.zeros((height, width), np.float32), "white": np.full((height, width), 255, np.float32),
             "vertical gradient": rows, "horizontal gradient": cols, "checkerboard": checker, "disc": disc}
    images = [np.repeat(image[..., None], channels, axis=-1) for image in named.values()]
    names = [f"synthetic {name}" for name in named]
    rng = np.random.default_rng(0)
    for i in range(max(0, count - len(images))):
        images.append(rng.uniform(0, 255, (height, width, channels)).astype(np.float32))
        names.append(f"synthetic noise #{i + 1}")
    return np.stack(images[:count]), names[:count]


def check_inputs(images: list[LabelledImage], labels: list[str], height: int, width: int,
                 channels: int) -> CheckInputs:
    """Real images (undecodable ones skipped and listed) followed by the synthetic inputs."""
    pixels, names, label_ids, skipped = [], [], [], []
    for image in images:
        try:
            pixels.append(load_model_input(image.path.read_bytes(), height, width, channels, name=str(image.path)))
        except (OSError, ImageDecodeError) as err:
            skipped.append(f"{image.path}: {err}")
            continue
        names.append(f"{image.path.parent.name}/{image.path.name}")
        label_ids.append(labels.index(image.label) if image.label in labels else None)
    synthetic, synthetic_names = synthetic_inputs(height, width, channels)
    real = len(pixels)
    stacked = np.concatenate([np.stack(pixels), synthetic]) if pixels else synthetic
    return CheckInputs(stacked.astype(np.float32), names + synthetic_names,
                       label_ids + [None] * len(synthetic_names), real, skipped)


def keras_probabilities(model, pixels: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(pixels, batch_size=32, verbose=0), dtype=np.float32)


def tfjs_probabilities(graph: GraphModel, pixels: np.ndarray, backend: str = "wasm") -> tuple[np.ndarray, dict]:
    """Run `pixels` through the converted model in Node; the probabilities and Node's report."""
    node = shutil.which("node")
    if node is None:
        raise ConversionError("Node.js (20 or newer) is needed to verify the converted model and was not "
                              "found on PATH; install it, or pass --no-verify to skip the check.")
    missing = [name for name in NPM_PACKAGES if not (REPO / "node_modules" / name).is_dir()]
    if missing:
        raise ConversionError(f"{REPO / 'node_modules'} lacks {', '.join(missing)}; run `make install` "
                              "(or `npm ci`) first, or pass --no-verify to skip the check.")
    with tempfile.TemporaryDirectory(prefix="tfjs-verify-") as scratch:
        scratch = Path(scratch)
        job = {"model_dir": str(graph.directory), "input_name": graph.input_name,
               "output_name": graph.output_name, "backend": backend, "shape": list(pixels.shape),
               "inputs": str(scratch / "inputs.f32"), "outputs": str(scratch / "outputs.f32"),
               "result": str(scratch / "result.json")}
        pixels.astype("<f4").tofile(job["inputs"])
        (scratch / "job.json").write_text(json.dumps(job))
        try:
            run = subprocess.run([node, str(VERIFY_SCRIPT), str(scratch / "job.json")], capture_output=True,
                                 text=True, timeout=NODE_TIMEOUT_S, cwd=REPO)
        except subprocess.TimeoutExpired as err:
            raise ConversionError(f"TF.js in Node took over {NODE_TIMEOUT_S} s on {len(pixels)} inputs.") from err
        if run.returncode != 0:
            raise ConversionError(f"TF.js could not run the converted model in {graph.directory}: "
                                  f"{run.stderr.strip() or run.stdout.strip()}")
        result = json.loads((scratch / "result.json").read_text())
        probabilities = np.fromfile(job["outputs"], dtype="<f4").reshape(result["shape"])
    if result["leaked_tensors"]:
        raise ConversionError(f"Running the converted model leaked {result['leaked_tensors']} tensors per run.")
    return probabilities, result


def compare(keras_p: np.ndarray, tfjs_p: np.ndarray, inputs: CheckInputs) -> Parity:
    if keras_p.shape != tfjs_p.shape:
        raise ParityError(f"Keras gives probabilities of shape {keras_p.shape}, TF.js {tfjs_p.shape}.")
    diff = np.abs(keras_p - tfjs_p)
    worst = int(np.argmax(diff.max(axis=1)))
    keras_top, tfjs_top = keras_p.argmax(axis=1), tfjs_p.argmax(axis=1)
    disagree = [f"{inputs.names[i]} (Keras {np.round(keras_p[i], 4).tolist()}, TF.js {np.round(tfjs_p[i], 4).tolist()})"
                for i in np.flatnonzero(keras_top != tfjs_top)]
    labelled = [i for i, label in enumerate(inputs.labels) if label is not None]
    truth = np.array([inputs.labels[i] for i in labelled])

    def accuracy(top):
        return float(np.mean(top[labelled] == truth) * 100) if labelled else None

    return Parity(
        inputs=len(keras_p), real_images=inputs.real, labelled_images=len(labelled),
        max_abs_diff=float(diff.max()),
        max_abs_diff_real=float(diff[:inputs.real].max()) if inputs.real else None,
        worst_input=inputs.names[worst],
        top1_agreement=float(np.mean(keras_top == tfjs_top)), top1_disagreements=disagree,
        keras_accuracy=accuracy(keras_top), tfjs_accuracy=accuracy(tfjs_top),
        keras_outputs_vary=bool(np.ptp(keras_p, axis=0).max() > 1e-6),
        input_diffs=diff.max(axis=1),
    )


def measure_parity(graph: GraphModel, keras_p: np.ndarray, inputs: CheckInputs, backend: str = "wasm") -> Parity:
    """Run the converted model on `inputs` and compare with the Keras probabilities `keras_p`."""
    tfjs_p, node = tfjs_probabilities(graph, inputs.pixels, backend)
    parity = compare(keras_p, tfjs_p, inputs)
    parity.backend, parity.tfjs_version, parity.ms_per_image = node["backend"], node["tfjs_version"], node["ms_median"]
    return parity


def worst_inputs(parity: Parity, inputs: CheckInputs, count: int) -> list[int]:
    """Indices of the `count` inputs on which the converted model strays furthest from Keras."""
    return sorted(np.argsort(parity.input_diffs)[::-1][:count].tolist())


def select_inputs(inputs: CheckInputs, indices: list[int]) -> CheckInputs:
    real = sum(1 for i in indices if i < inputs.real)
    return CheckInputs(inputs.pixels[indices], [inputs.names[i] for i in indices],
                       [inputs.labels[i] for i in indices], real)


def cross_check_on_cpu(graph: GraphModel, keras_p: np.ndarray, inputs: CheckInputs, parity: Parity,
                       count: int = CROSS_CHECK_INPUTS) -> Parity:
    """The same files on TF.js's cpu backend, on the inputs where `parity` (wasm) strays furthest.

    The cpu backend is much slower than wasm, so it sees only those inputs: enough to tell a
    conversion error (both backends stray) from a wasm kernel's arithmetic (only wasm strays)."""
    indices = worst_inputs(parity, inputs, count)
    return measure_parity(graph, keras_p[indices], select_inputs(inputs, indices), "cpu")


def wasm_diagnosis(graph: GraphModel, keras_p: np.ndarray, inputs: CheckInputs, parity: Parity,
                   limits: Limits) -> str:
    """When the wasm backend disagrees with Keras: whether the cpu backend agrees, and what that means."""
    cpu = cross_check_on_cpu(graph, keras_p, inputs, parity)
    if cpu.failures(limits):
        return f"The cpu backend disagrees too (max |Δp| {cpu.max_abs_diff:.2g}): the conversion itself is at fault."
    # wasm's Mean kernel sums a whole image in one float32 loop, less exactly than cpu: enough
    # to move a trained net's probabilities past the limit (docs/log.md has the figures).
    return (f"On TF.js's cpu backend the same files agree (max |Δp| {cpu.max_abs_diff:.2g}), so a wasm kernel "
            "computes differently, not the conversion. The known cause is a mean over a whole image (per-image "
            "standardisation): wasm's Mean kernel sums all pixels in one float32 loop. Compute such means in "
            "stages (over the width, then over the height) in the model; see reports/convert.md.")
