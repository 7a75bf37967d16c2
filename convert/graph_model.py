"""Keras model file -> TF.js graph model, by way of a SavedModel.

Why a graph model: a Keras 3 model converted to a TF.js *layers* model does not load in tfjs 4.22
("An InputLayer should be passed either a batchInputShape or an inputShape"), while Keras 3's
`model.export()` (a SavedModel) -> `tfjs_graph_model` loads and matches Keras. A graph
model is also the faster of the two in the browser: the converter folds batch norm into the
convolutions and prunes what inference does not use.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sys
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from convert import QUANTIZATIONS, ConversionError
from mri.layers import load_model

# tensorflowjs's own names for the quantised weight types; "none" writes float32 weights.
_QUANTIZATION_DTYPE_MAPS = {"none": None, "float16": {"float16": True}, "uint8": {"uint8": True}}
# Random augmentation layers act only while training; inside an exported model they break the
# SavedModel -> graph-model conversion (tensorflowjs fails with "Identity is not in graph").
_AUGMENTATION_LAYER_CLASSES = frozenset({"RandAugment", "AugMix", "CutMix", "MixUp"})
# tensorflowjs 4.22 imports these at import time, though the SavedModel -> graph-model path never
# calls them; installed with --no-deps (docs/training.md) they are absent, and the full install
# breaks TensorFlow. `jax` itself is never faked: Keras 3 probes `import jax` to list backends.
_IMPORT_TIME_ONLY_MODULES = ("tensorflow_decision_forests", "tensorflow_hub", "tf_keras",
                             "tensorflowjs.converters.jax_conversion")


@dataclass(frozen=True)
class GraphModel:
    """What a converted model's `model.json` says the page must feed and fetch."""

    directory: Path
    files: tuple[str, ...]        # model.json first, then the weight shards in manifest order
    input_name: str               # the key `model.execute({[input_name]: x})` takes
    input_shape: tuple[int, ...]  # -1 for the batch dimension
    output_name: str              # the node `model.execute(..., output_name)` fetches
    output_key: str               # the output's key in the SavedModel signature
    output_shape: tuple[int, ...]
    quantization: str


def load_keras_model(path: Path) -> keras.Model:
    """Load a Keras model saved by this project, or raise ConversionError saying why not."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(
            f"{path} does not exist; pass the .h5 file that training wrote "
            "(e.g. --model frontend/model/model.h5).")
    try:
        model = load_model(str(path))
    except Exception as err:  # Keras and h5py raise many types for "not a model"
        cause = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConversionError(
            f"{path} could not be loaded as a Keras model ({cause}); pass the .h5 or .keras file "
            "that `python -m training.train` saved.") from err
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ConversionError(
            f"{path} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; the page "
            "runs models with one image input and one probability output.")
    return model


def augmentation_layers(model: keras.Model) -> list[str]:
    """Paths ("outer/inner") of the random augmentation layers anywhere inside `model`."""
    found = []
    for layer in model.layers:
        if _is_augmentation(layer):
            found.append(layer.name)
        elif isinstance(layer, keras.Model):
            found += [f"{layer.name}/{name}" for name in augmentation_layers(layer)]
    return found


def strip_augmentation(model: keras.Model) -> tuple[keras.Model, list[str]]:
    """The model with every random augmentation layer replaced by Identity, and their paths.

    Such layers pass images through unchanged at inference, so the stripped model must give the
    same answers; it is checked on random inputs, and a layer that changes images at inference
    (RandomCrop crops to its size) is refused rather than silently removed.
    """
    removed = augmentation_layers(model)
    if not removed:
        return model, []

    def keep_or_identity(layer):
        return keras.layers.Identity(name=layer.name) if _is_augmentation(layer) else layer

    try:
        stripped = keras.models.clone_model(model, clone_function=keep_or_identity, recursive=True)
    except Exception as err:
        raise ConversionError(
            f"The model holds random augmentation layers ({', '.join(removed)}) that could not be "
            f"removed automatically ({err}); rebuild the model without them before saving it.") from err
    probe = np.random.default_rng(0).uniform(0, 255, (2, *model.inputs[0].shape[1:])).astype("float32")
    change = float(np.max(np.abs(np.asarray(model(probe, training=False))
                                 - np.asarray(stripped(probe, training=False)))))
    if change > 1e-6:
        raise ConversionError(
            f"The random augmentation layers {', '.join(removed)} change images at inference "
            f"(removing them moves the output by up to {change:.3g}); save the model without them.")
    return stripped, removed


def export_graph_model(model: keras.Model, out_dir: Path, quantization: str = "none") -> GraphModel:
    """Write `model` to `out_dir` as a TF.js graph model (`model.json` + weight shards)."""
    if quantization not in QUANTIZATIONS:
        raise ConversionError(f"Unknown quantisation {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}.")
    if augmentation_layers(model):
        raise ConversionError("Strip the random augmentation layers first (strip_augmentation).")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_json = out_dir / "model.json"
    model_json.unlink(missing_ok=True)  # so an old one is never mistaken for this conversion's
    converter = _import_tensorflowjs_converter()
    with tempfile.TemporaryDirectory(prefix="savedmodel-") as saved_model, _quiet_tensorflow():
        try:
            model.export(saved_model, format="tf_saved_model", verbose=False)
            converter.convert_tf_saved_model(
                saved_model, str(out_dir),
                quantization_dtype_map=_QUANTIZATION_DTYPE_MAPS[quantization])
        except Exception as err:
            raise ConversionError(
                f"tensorflowjs could not convert the model ({type(err).__name__}: {err}); a layer "
                "TF.js does not support is the usual cause: see the layers of the model.") from err
    if not model_json.is_file():
        # tensorflowjs prints "Can not freeze saved model v1." and returns when freezing fails.
        raise ConversionError(f"tensorflowjs wrote no {model_json}; the SavedModel could not be frozen.")
    # tensorflowjs writes protobuf maps in no fixed order; sorted keys make converting the same
    # model twice give the same bytes, so a re-run leaves nothing to commit and hashes stay put.
    model_json.write_text(json.dumps(json.loads(model_json.read_text()), sort_keys=True, separators=(",", ":")))
    return read_graph_model(out_dir, quantization)


def read_graph_model(directory: Path, quantization: str) -> GraphModel:
    """The input/output names, shapes and files of a converted graph model in `directory`."""
    directory = Path(directory)
    spec = json.loads((directory / "model.json").read_text())
    if spec.get("format") != "graph-model":
        raise ConversionError(f"{directory / 'model.json'} is a {spec.get('format')!r}, not a graph model.")
    inputs, outputs = spec["signature"]["inputs"], spec["signature"]["outputs"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ConversionError(f"{directory / 'model.json'} has {len(inputs)} inputs and {len(outputs)} outputs; "
                              f"expected one of each.")
    (input_name, input_spec), = inputs.items()
    (output_key, output_spec), = outputs.items()
    shards = [path for group in spec["weightsManifest"] for path in group["paths"]]
    return GraphModel(
        directory=directory,
        files=("model.json", *shards),
        input_name=input_name,
        input_shape=_shape(input_spec),
        output_name=output_spec["name"].split(":")[0],
        output_key=output_key,
        output_shape=_shape(output_spec),
        quantization=quantization,
    )


def tensorflowjs_version() -> str:
    _import_tensorflowjs_converter()
    return sys.modules["tensorflowjs"].__version__


def _is_augmentation(layer) -> bool:
    name = type(layer).__name__
    return name.startswith("Random") or name in _AUGMENTATION_LAYER_CLASSES


def _shape(tensor_spec: dict) -> tuple[int, ...]:
    return tuple(int(dim.get("size", -1)) for dim in tensor_spec["tensorShape"].get("dim", []))


def _import_tensorflowjs_converter():
    """tensorflowjs's SavedModel converter, imported with stand-ins for its unused imports."""
    if "tensorflowjs" not in sys.modules:
        stand_ins = {}
        for name in _IMPORT_TIME_ONLY_MODULES:
            if name not in sys.modules:
                stand_ins[name] = sys.modules[name] = types.ModuleType(name)
        if "tensorflowjs.converters.jax_conversion" in stand_ins:
            stand_ins["tensorflowjs.converters.jax_conversion"].convert_jax = _jax_is_not_installed
        try:
            import tensorflowjs  # noqa: F401  (registers the package and its submodules)
        except ImportError as err:
            raise ConversionError(
                f"tensorflowjs could not be imported ({err}); run `make install`, which installs "
                "tensorflowjs==4.22.0 with --no-deps (its full dependency set breaks TensorFlow).") from err
        finally:
            # tensorflowjs keeps its own references; the rest of the process sees no fake module.
            for name in stand_ins:
                del sys.modules[name]
    from tensorflowjs.converters import tf_saved_model_conversion_v2

    return tf_saved_model_conversion_v2


def _jax_is_not_installed(*args, **kwargs):
    raise ConversionError("JAX conversion is not part of this project's tensorflowjs install.")


@contextlib.contextmanager
def _quiet_tensorflow():
    """Hide TensorFlow's deprecation warnings about the v1 APIs tensorflowjs calls."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
