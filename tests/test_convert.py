"""The converter: Keras -> TF.js graph model, run in Node and compared with Keras; its clear errors."""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from convert import ConversionError, ParityError
from convert.__main__ import build_parser
from convert.formats import CommandTiming, Row, measure, recommendation, render
from convert.graph_model import read_graph_model
from convert.parity import LIMITS, NPM_PACKAGES, Parity, check_inputs, keras_probabilities, measure_parity
from convert.pipeline import convert_model
from convert.report import build_parser as build_report_parser
from convert.samples import choose, images_from_folder, images_from_split
from mri.layers import PerImageStandardization
from tests.conftest import REPO, real_data
from training.models import create_model, list_models

SIZE = 32
LABELS = ["glioma", "notumor", "pituitary"]
NODE_MISSING = shutil.which("node") is None or not all((REPO / "node_modules" / p).is_dir() for p in NPM_PACKAGES)
needs_node = pytest.mark.skipif(
    NODE_MISSING, reason="Node.js or node_modules is missing (`make install` runs `npm ci`): TF.js cannot run here")


def with_live_batch_norm(model: keras.Model, size: int, seed: int = 0) -> keras.Model:
    """Give an untrained model's batch norms real statistics and scales.

    Untrained, a deep net's activations shrink layer by layer until every input gets the same
    answer, and batch norm at its defaults (mean 0, variance 1, scale 1) is nearly the identity:
    a comparison with such a model could not catch a wrong layer or a badly folded batch norm.
    """
    rng = np.random.default_rng(seed)
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0  # one training-mode call sets the moving statistics to the batch's
    model(rng.uniform(0, 255, (16, size, size, 1)).astype("float32"), training=True)
    for layer in norms:
        gamma, beta, mean, variance = layer.get_weights()
        layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                           rng.normal(0, 0.3, beta.shape).astype("float32"), mean, variance])
    return model


def save_model(model: keras.Model, folder: Path, labels=LABELS, size: int = SIZE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.h5")
    (folder / "metadata.json").write_text(json.dumps({
        "labels": labels, "no_tumor_label": "notumor",
        "input": {"height": size, "width": size, "channels": 1},
        "architecture": model.name, "metrics": {"test_accuracy": 0.5}, "training": {"epochs": 1}}))
    return folder / "model.h5"


def tiny_compact(seed: int = 0) -> keras.Model:
    """The shipped architecture at 32 px: stride-2 stem, depthwise-separable blocks, batch norm."""
    keras.utils.set_random_seed(seed)
    return with_live_batch_norm(create_model("compact", (SIZE, SIZE, 1), len(LABELS)), SIZE, seed)


def random_pixels(count: int, seed: int, size: int = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 1)).astype("float32")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A tiny compact model converted into a folder that already holds an older conversion."""
    folder = tmp_path_factory.mktemp("model")
    model = tiny_compact()
    save_model(model, folder)
    # Leftovers of an earlier, bigger model: its model.json, two shards it named, a stray shard,
    # and a file that is not the converter's business.
    (folder / "model.json").write_text(json.dumps(
        {"format": "graph-model", "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"]}]}))
    for name in ("group1-shard1of2.bin", "group1-shard2of2.bin", "group3-shard1of1.bin", "notes.txt"):
        (folder / name).write_bytes(b"old")
    messages = []
    if NODE_MISSING:
        conversion = convert_model(folder / "model.h5", folder, verify=False, log=messages.append)
    else:
        conversion = convert_model(folder / "model.h5", folder, log=messages.append)
    return folder, model, conversion, messages


@needs_node
def test_converted_model_matches_keras_in_node(shipped):
    folder, model, conversion, _ = shipped
    # Fresh inputs, not the ones the converter checked on, through the installed files.
    inputs = check_inputs([], LABELS, SIZE, SIZE, 1)
    inputs.pixels = np.concatenate([inputs.pixels, random_pixels(8, seed=7)])
    inputs.names += [f"noise {i}" for i in range(8)]
    inputs.labels += [None] * 8
    parity = measure_parity(read_graph_model(folder, "none"), keras_probabilities(model, inputs.pixels), inputs)
    assert parity.keras_outputs_vary, "the test model answers every input alike: the comparison would prove nothing"
    assert parity.max_abs_diff <= 1e-5
    assert parity.top1_agreement == 1.0
    assert conversion.parity.max_abs_diff <= 1e-5 and conversion.parity.top1_agreement == 1.0


@needs_node
def test_the_check_fails_on_a_model_that_differs(shipped):
    """The comparison can fail: the converted model against a slightly changed Keras model."""
    folder, model, _, _ = shipped
    changed = keras.models.clone_model(model)
    changed.set_weights(model.get_weights())
    dense = changed.get_layer("probabilities")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + np.array([0.5, 0.0, -0.5], dtype="float32")])
    inputs = check_inputs([], LABELS, SIZE, SIZE, 1)
    parity = measure_parity(read_graph_model(folder, "none"), keras_probabilities(changed, inputs.pixels), inputs)
    with pytest.raises(ParityError, match="a probability differs by"):
        parity.check(LIMITS["none"], "the converted model")


def test_metadata_keeps_training_keys_and_records_the_conversion(shipped):
    folder, _, conversion, _ = shipped
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["labels"] == LABELS and metadata["metrics"] == {"test_accuracy": 0.5}
    assert metadata["training"] == {"epochs": 1} and metadata["no_tumor_label"] == "notumor"
    tfjs = metadata["tfjs"]
    assert tfjs["format"] == "graph-model" and tfjs["model"] == "model.json"
    assert tfjs["quantization"] == "none"
    assert tfjs["input"] == {"name": "image", "dtype": "float32", "shape": [-1, SIZE, SIZE, 1]}
    assert tfjs["output"]["shape"] == [-1, len(LABELS)] and tfjs["output"]["name"]
    assert tfjs["source"]["sha256"] == hashlib.sha256((folder / "model.h5").read_bytes()).hexdigest()
    for name, facts in tfjs["files"].items():
        assert facts["bytes"] == (folder / name).stat().st_size
        assert facts["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    model_json = json.loads((folder / "model.json").read_text())
    shards = [path for group in model_json["weightsManifest"] for path in group["paths"]]
    assert list(tfjs["files"]) == ["model.json", *shards]
    if not NODE_MISSING:
        assert tfjs["verification"]["max_abs_diff"] <= 1e-5
        assert tfjs["verification"]["backend"] == "wasm"


def test_stale_weight_shards_are_removed_and_other_files_kept(shipped):
    folder, _, conversion, _ = shipped
    assert sorted(conversion.removed_files) == ["group1-shard1of2.bin", "group1-shard2of2.bin", "group3-shard1of1.bin"]
    model_json = json.loads((folder / "model.json").read_text())
    listed = {path for group in model_json["weightsManifest"] for path in group["paths"]}
    assert {p.name for p in folder.glob("group*.bin")} == listed
    assert (folder / "notes.txt").read_bytes() == b"old"


def test_converting_the_same_model_again_rewrites_the_same_files(shipped, tmp_path):
    """Re-running the converter on an unchanged model leaves nothing new to commit."""
    folder, _, _, _ = shipped
    again = tmp_path / "again"
    shutil.copytree(folder, again)
    before = {p.name: p.read_bytes() for p in again.iterdir()}
    convert_model(again / "model.h5", again, verify=not NODE_MISSING, log=lambda _: None)
    assert {p.name: p.read_bytes() for p in again.iterdir()} == before


@needs_node
@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_converts_and_matches_keras(name, tmp_path):
    size = 64  # the smallest size every registered net accepts
    keras.utils.set_random_seed(1)
    model = with_live_batch_norm(create_model(name, (size, size, 1), 4), size)
    save_model(model, tmp_path / "src", labels=["glioma", "meningioma", "notumor", "pituitary"], size=size)
    conversion = convert_model(tmp_path / "src" / "model.h5", tmp_path / "out", log=lambda _: None)
    assert conversion.parity.max_abs_diff <= 1e-5 and conversion.parity.top1_agreement == 1.0
    # The shipped folder gets the .h5 the server runs, identical to the one converted.
    assert (tmp_path / "out" / "model.h5").read_bytes() == (tmp_path / "src" / "model.h5").read_bytes()


@needs_node
def test_float16_halves_the_weights_and_stays_within_its_limits(shipped, tmp_path):
    folder, _, float32, _ = shipped
    conversion = convert_model(folder / "model.h5", tmp_path, quantization="float16", log=lambda _: None)
    tfjs = conversion.metadata["tfjs"]
    assert tfjs["quantization"] == "float16"
    assert tfjs["weight_bytes"] < 0.6 * float32.metadata["tfjs"]["weight_bytes"]
    assert conversion.parity.max_abs_diff <= LIMITS["float16"].max_prob_diff


@needs_node
def test_random_augmentation_layers_are_stripped_and_reported(tmp_path):
    keras.utils.set_random_seed(0)
    # Named, since Keras numbers unnamed layers by how many of the kind this process made before.
    augment = keras.Sequential([layers.RandomFlip("horizontal", name="random_flip"),
                                layers.RandomRotation(0.1, name="random_rotation")], name="augment")
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = PerImageStandardization()(augment(inputs))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(8, 3, activation="relu")(x))
    model = keras.Model(inputs, layers.Dense(len(LABELS), activation="softmax")(x))
    save_model(model, tmp_path)
    messages = []
    conversion = convert_model(tmp_path / "model.h5", tmp_path, log=messages.append)
    assert conversion.stripped_layers == ["augment/random_flip", "augment/random_rotation"]
    assert any("Removed random augmentation layers" in m and "augment/random_flip" in m for m in messages)
    assert conversion.metadata["tfjs"]["stripped_layers"] == conversion.stripped_layers
    assert conversion.parity.max_abs_diff <= 1e-5


@keras.saving.register_keras_serializable(package="tests")
class RandomGammaEverywhere(layers.Layer):
    """A hand-written "augmentation" that forgets to act only in training."""

    def call(self, x, training=None):
        return 255.0 * (x / 255.0) ** 0.7


def test_augmentation_that_changes_images_at_inference_is_refused(tmp_path):
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = RandomGammaEverywhere(name="gamma")(inputs)
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(PerImageStandardization()(x)))
    save_model(keras.Model(inputs, layers.Dense(len(LABELS), activation="softmax")(x)), tmp_path)
    with pytest.raises(ConversionError, match="gamma change images at inference"):
        convert_model(tmp_path / "model.h5", tmp_path / "out", verify=False, log=lambda _: None)
    assert not (tmp_path / "out" / "model.json").exists()


def test_missing_model_file_is_a_clear_error(tmp_path):
    save_model(tiny_compact(), tmp_path)
    with pytest.raises(ConversionError, match=r"nope\.h5 does not exist"):
        convert_model(tmp_path / "nope.h5", tmp_path / "out", metadata_path=tmp_path / "metadata.json")


def test_command_line_reports_a_missing_file_without_a_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "convert", "--model", str(tmp_path / "nope.h5"), "--out",
                          str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 1
    assert "nope.h5 does not exist" in run.stderr and "Traceback" not in run.stderr


def test_a_file_that_is_not_a_keras_model_is_a_clear_error(tmp_path):
    save_model(tiny_compact(), tmp_path)
    (tmp_path / "model.h5").write_text("this is a text file, not a model\n")
    with pytest.raises(ConversionError, match=r"model\.h5 could not be loaded as a Keras model"):
        convert_model(tmp_path / "model.h5", tmp_path, log=lambda _: None)
    assert not (tmp_path / "model.json").exists()


def test_metadata_that_does_not_match_the_model_is_refused(tmp_path):
    save_model(tiny_compact(), tmp_path, labels=["a", "b", "notumor", "d"])
    with pytest.raises(ConversionError, match="3 outputs but .*metadata.json lists 4 labels"):
        convert_model(tmp_path / "model.h5", tmp_path, log=lambda _: None)


def test_missing_metadata_is_a_clear_error(tmp_path):
    tiny_compact().save(tmp_path / "model.h5")
    with pytest.raises(ConversionError, match="metadata.json does not exist"):
        convert_model(tmp_path / "model.h5", tmp_path, log=lambda _: None)


@pytest.mark.parametrize("parser", [build_parser(), build_report_parser()], ids=["convert", "report"])
def test_every_flag_has_help(parser):
    for action in parser._actions:
        assert action.help, f"{action.option_strings} has no help text"


def test_split_csv_gives_the_chosen_subset(tmp_path, image_folder):
    root = image_folder(per_class=3)
    rows = [(str(p.relative_to(tmp_path)), p.parent.name, i, "test" if i % 2 else "train")
            for i, p in enumerate(sorted(root.rglob("*.*")))]
    with (tmp_path / "split.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("path", "label", "group", "subset"), *rows])
    chosen = images_from_split(tmp_path / "split.csv", "test")
    assert len(chosen) == 3 and all(image.path.is_file() for image in chosen)
    with pytest.raises(ConversionError, match="no rows in subset 'holdout'"):
        images_from_split(tmp_path / "split.csv", "holdout")


@needs_node
def test_report_measures_each_format_and_decides(shipped, image_folder):
    folder = shipped[0]
    root = image_folder(per_class=4, size=40, classes=("glioma", "notumor"))
    measured = measure(folder / "model.h5", None, images_from_folder(root), ["none", "float16"], log=lambda _: None)
    assert [row.quantization for row in measured.rows] == ["none", "float16"]
    assert measured.rows[0].parity.labelled_images == 8
    assert measured.rows[1].weight_bytes < 0.6 * measured.rows[0].weight_bytes
    text = render(folder / "model.h5", measured, str(root), "python -m convert.report",
                  CommandTiming(12.0, None))
    assert "| float16 |" in text and "## Decision" in text and "12.0 s" in text
    assert "cpu backend" in text  # the float32 files are cross-checked on a second backend


def a_row(quantization: str, **parity_fields) -> Row:
    fields = dict(inputs=100, real_images=84, labelled_images=84, max_abs_diff=1e-3, max_abs_diff_real=1e-3,
                  worst_input="x",
                  top1_agreement=1.0, top1_disagreements=[], keras_accuracy=90.0, tfjs_accuracy=90.0,
                  keras_outputs_vary=True)
    parity = Parity(**{**fields, **parity_fields})
    return Row(quantization, 1000 if quantization == "none" else 520, 900, 1.0, parity,
               parity.failures(LIMITS[quantization]))


@pytest.mark.parametrize("float16, expected, reason", [
    ({}, "float16", "saves 48%"),
    ({"tfjs_accuracy": 89.5}, "none", "accuracy falls by 0.50 points"),
    ({"keras_outputs_vary": False}, "none", "same answer for every input"),
    ({"labelled_images": 0, "keras_accuracy": None, "tfjs_accuracy": None}, "none", "no labelled images"),
], ids=["costs-nothing", "costs-accuracy", "untrained", "unlabelled"])
def test_float16_ships_only_when_it_costs_at_most_a_fifth_of_a_point(float16, expected, reason):
    choice, why = recommendation([a_row("none"), a_row("float16", **float16)])
    assert choice == expected and reason in why


@needs_node
def test_real_images_agree(shipped):
    folder, model, _, _ = shipped
    images = choose(images_from_folder(real_data("brain-mri-4class")), 12)
    inputs = check_inputs(images, LABELS, SIZE, SIZE, 1)
    assert inputs.real == 12
    parity = measure_parity(read_graph_model(folder, "none"), keras_probabilities(model, inputs.pixels), inputs)
    assert parity.max_abs_diff <= 1e-5 and parity.top1_agreement == 1.0


@keras.saving.register_keras_serializable(package="tests")
class WholeImageStandardization(layers.Layer):
    """Per-image standardisation with each mean taken over all pixels at once."""

    def call(self, x):
        mean = keras.ops.mean(x, axis=(1, 2, 3), keepdims=True)
        std = keras.ops.sqrt(keras.ops.mean(keras.ops.square(x - mean), axis=(1, 2, 3), keepdims=True))
        return (x - mean) / keras.ops.maximum(std, 1e-3)


@needs_node
def test_a_wasm_kernel_difference_is_told_apart_from_a_conversion_error(tmp_path):
    """TF.js's wasm Mean sums 128 x 128 pixels in one float32 loop; its cpu backend is exact enough."""
    size = 128
    inputs = keras.Input((size, size, 1), name="image")
    # The output is four standardised pixels themselves: the mean's error shows undiluted (~1e-4).
    x = layers.Cropping2D(((0, size - 2), (0, size - 2)))(WholeImageStandardization()(inputs))
    save_model(keras.Model(inputs, layers.Flatten()(x)), tmp_path, labels=["a", "b", "notumor", "d"], size=size)
    with pytest.raises(ParityError, match="cpu backend the same files agree .* whole image"):
        convert_model(tmp_path / "model.h5", tmp_path / "out", log=lambda _: None)
    assert not (tmp_path / "out" / "model.json").exists()
