"""The conversion, start to finish: Keras `.h5` -> verified TF.js graph model in the page's folder.

The model is converted into a scratch folder and checked there; only a model that agrees with
Keras replaces the shipped one, so a failed run leaves `frontend/model/` as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from convert import WEIGHT_FORMATS, ConversionError, ParityError
from convert.graph_model import (
    GraphModel,
    export_graph_model,
    load_keras_model,
    read_graph_model,
    strip_augmentation,
    tensorflowjs_version,
)
from convert.parity import LIMITS, Limits, Parity, check_inputs, keras_probabilities, measure_parity, wasm_diagnosis
from convert.samples import REPO, LabelledImage
from mri.contract import ContractError
from mri.contract import read_metadata as read_contract_metadata

# The file names the page and the server load (docs/contract.md).
SHIPPED_H5 = "model.h5"
METADATA = "metadata.json"
# tensorflowjs names weight files group<g>-shard<i>of<n>.bin; any such file model.json does not
# list is left over from an earlier model and would be served for nothing.
SHARD_NAME = re.compile(r"group\d+-shard\d+of\d+\.bin")


@dataclass
class Conversion:
    graph: GraphModel           # the installed model, in the output folder
    parity: Parity | None       # None when verification was skipped
    stripped_layers: list[str]
    removed_files: list[str]
    convert_seconds: float      # load + export + tensorflowjs
    total_seconds: float
    metadata: dict


def read_metadata(path: Path) -> dict:
    """metadata.json as training wrote it, checked against the contract (mri.contract)."""
    try:
        return read_contract_metadata(path).document
    except ContractError as err:
        raise ConversionError(f"{err} Pass its location with --metadata if it lies elsewhere.") from err


def check_model_matches_metadata(model, metadata: dict, model_path: Path, metadata_path: Path) -> None:
    size = metadata["input"]
    expected = (size["height"], size["width"], size["channels"])
    actual = tuple(model.inputs[0].shape[1:])
    if actual != expected:
        raise ConversionError(
            f"{model_path} takes input {actual} but {metadata_path} says {expected}; convert the metadata.json "
            "written with this model.")
    classes = model.outputs[0].shape[-1]
    if classes != len(metadata["labels"]):
        raise ConversionError(
            f"{model_path} has {classes} outputs but {metadata_path} lists {len(metadata['labels'])} labels; "
            "convert the metadata.json written with this model.")


def convert_model(model_path: Path, out_dir: Path, quantization: str = "none", metadata_path: Path | None = None,
                  images: list[LabelledImage] = (), image_source: str = "", backend: str = "wasm",
                  verify: bool = True, limits: Limits | None = None,
                  log: Callable[[str], None] = print) -> Conversion:
    """Convert `model_path`, check it against Keras, and install it with its metadata in `out_dir`."""
    start = time.perf_counter()
    model_path, out_dir = Path(model_path), Path(out_dir)
    metadata_path = Path(metadata_path) if metadata_path else model_path.with_name(METADATA)
    limits = limits or LIMITS[quantization]
    shipped_h5 = out_dir / SHIPPED_H5
    copy_h5 = not (shipped_h5.exists() and shipped_h5.resolve() == model_path.resolve())
    if copy_h5 and model_path.suffix not in (".h5", ".hdf5"):
        raise ConversionError(f"{model_path} is not an .h5 file; the server loads {shipped_h5}, so save the "
                              "model as .h5 and convert that.")
    model = load_keras_model(model_path)
    metadata = read_metadata(metadata_path)
    check_model_matches_metadata(model, metadata, model_path, metadata_path)
    if (out_dir / METADATA).exists() and metadata_path.resolve() != (out_dir / METADATA).resolve():
        log(f"Using {metadata_path}; it replaces {out_dir / METADATA}.")
    exportable, stripped = strip_augmentation(model)
    if stripped:
        log(f"Removed random augmentation layers, which act only in training: {', '.join(stripped)}.")

    with tempfile.TemporaryDirectory(prefix="tfjs-model-") as staging:
        graph = export_graph_model(exportable, Path(staging), quantization)
        convert_seconds = time.perf_counter() - start
        log(f"Converted {model_path} to a TF.js graph model ({WEIGHT_FORMATS[quantization]} weights) "
            f"in {convert_seconds:.1f} s.")
        parity = None
        if verify:
            parity = verify_against_keras(graph, model, metadata, images, image_source, backend, limits, log)
        else:
            log("Skipped the check against Keras (--no-verify): nothing shows the page will agree with the server.")
        if copy_h5:
            out_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model_path, shipped_h5)
            log(f"Copied {model_path} to {shipped_h5} for the server's Keras fallback.")
        removed = install_graph_model(graph, out_dir)
    installed = read_graph_model(out_dir, quantization)

    metadata["tfjs"] = tfjs_metadata(installed, shipped_h5, stripped, parity, limits, image_source)
    _replace_file(out_dir / METADATA, (json.dumps(metadata, indent=2) + "\n").encode())
    total_seconds = time.perf_counter() - start
    log(f"Wrote {out_dir / 'model.json'} + {len(installed.files) - 1} weight file(s), "
        f"{metadata['tfjs']['total_bytes'] / 1024:.0f} KiB, and updated {out_dir / METADATA}"
        + (f"; removed stale {', '.join(removed)}" if removed else "") + f" ({total_seconds:.1f} s in all).")
    return Conversion(installed, parity, stripped, removed, convert_seconds, total_seconds, metadata)


def verify_against_keras(graph: GraphModel, model, metadata: dict, images: list[LabelledImage], image_source: str,
                         backend: str, limits: Limits, log: Callable[[str], None]) -> Parity:
    size = metadata["input"]
    inputs = check_inputs(list(images), metadata["labels"], size["height"], size["width"], size["channels"])
    for skipped in inputs.skipped:
        log(f"Skipped an unreadable image: {skipped}")
    if not inputs.real:
        log(f"No real images to check on ({image_source or 'none given'}); pass --images DIR or --split CSV.")
    keras_p = keras_probabilities(model, inputs.pixels)
    parity = measure_parity(graph, keras_p, inputs, backend)
    log(f"Checked against Keras on {parity.summary()}.")
    if not parity.keras_outputs_vary:
        log("Warning: the Keras model gives the same probabilities for every input (untrained?), so agreement "
            "with it proves little about the conversion.")
    try:
        parity.check(limits, f"The converted model ({WEIGHT_FORMATS[graph.quantization]} weights)")
    except ParityError as err:
        if backend != "wasm":
            raise
        raise ParityError(f"{err} {wasm_diagnosis(graph, keras_p, inputs, parity, limits)}") from None
    return parity


def install_graph_model(graph: GraphModel, out_dir: Path) -> list[str]:
    """Copy the converted files into `out_dir` and delete the weight shards no longer used."""
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _listed_shards(out_dir / "model.json")
    # Shards first, model.json last (and whole): a page loading meanwhile never reads a model.json
    # whose shards are not there yet, nor half a model.json.
    for name in graph.files[1:]:
        shutil.copyfile(graph.directory / name, out_dir / name)
    _replace_file(out_dir / graph.files[0], (graph.directory / graph.files[0]).read_bytes())
    present = {p.name for p in out_dir.iterdir() if p.is_file() and SHARD_NAME.fullmatch(p.name)}
    stale = sorted((present | previous) - set(graph.files))
    for name in stale:
        (out_dir / name).unlink(missing_ok=True)
    return stale


def tfjs_metadata(graph: GraphModel, shipped_h5: Path, stripped: list[str], parity: Parity | None,
                  limits: Limits, image_source: str) -> dict:
    """The `tfjs` section of metadata.json: what the page loads, how to feed it, where it came from."""
    files = {name: {"bytes": (graph.directory / name).stat().st_size, "sha256": _sha256(graph.directory / name)}
             for name in graph.files}
    verification = None
    if parity is not None:
        verification = {"images": image_source, **parity.as_metadata(limits)}
    return {
        "format": "graph-model",
        "model": graph.files[0],
        "input": {"name": graph.input_name, "dtype": "float32", "shape": list(graph.input_shape)},
        "output": {"name": graph.output_name, "signature_key": graph.output_key, "shape": list(graph.output_shape)},
        "quantization": graph.quantization,
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "weight_bytes": sum(f["bytes"] for name, f in files.items() if name != graph.files[0]),
        "source": {"file": shipped_h5.name, "bytes": shipped_h5.stat().st_size, "sha256": _sha256(shipped_h5)},
        "stripped_layers": stripped,
        "versions": _versions(),
        "verification": verification,
    }


def _versions() -> dict:
    package = REPO / "node_modules" / "@tensorflow" / "tfjs-core" / "package.json"
    return {"tensorflowjs_converter": tensorflowjs_version(),
            "tfjs": json.loads(package.read_text())["version"] if package.is_file() else None,
            "tensorflow": tf.__version__, "keras": keras.__version__}


def _replace_file(path: Path, content: bytes) -> None:
    """Write `content` to `path` in one step (a rename), so no reader sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def _listed_shards(model_json: Path) -> set[str]:
    """Weight files an existing model.json names (plain names in its folder only)."""
    try:
        manifest = json.loads(model_json.read_text()).get("weightsManifest", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {path for group in manifest for path in group.get("paths", []) if path == Path(path).name}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
