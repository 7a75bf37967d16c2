"""Fits the feature scope (mri/feature_scope.py) of a model and measures it: the pooled features of
a sample of training images give the class means and the shared covariance, the validation subset
the cut-off; the report gives the share withheld on validation, test, generated non-MRI images,
phantoms, grey drawings and one unseen collection, beside the page's input rule.

    python -m training.feature_scope --model frontend/model/model.h5 --split reports/final-model/split.csv \\
        --report reports/feature-scope.md --write-metadata frontend/model/metadata.json

Why this score: a Mahalanobis distance to the nearest class mean with one shared, shrunk covariance
is the standard cheap detector on a classifier's features (Lee et al. 2018): no extra training, a
few thousand multiply-adds on the page. Its covariance is kept as the top principal directions
plus one residual variance so that the block stays small, and the residual term still sees
features that leave the training images' subspace. Lee et al. also found middle layers to see
more than the last; the report compares the chosen layer with the penultimate one.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

import numpy as np
from sklearn.covariance import LedoitWolf

from mri import feature_scope
from mri.contract import read_metadata
from mri.images import decode_image, to_model_input
from mri.layers import load_model
from training import ood_images

ROOT = Path(__file__).resolve().parent.parent
LAYER = "re_lu_3"  # the middle of the network: 128 channels at 16 x 16
PENULTIMATE = "global_average_pooling2d"
DIRECTIONS = 8
PERCENTILE = 99.5
UNSEEN = "brain-mri-yes-no"
# The page's input rule (frontend/js/shared/results.js RELIABILITY, codes colour / uniform / no-background),
# re-implemented here only to count what it already withholds.
PAGE_RULE = {"max_chroma": 12, "border_fraction": 1 / 16, "dark_level": 40, "min_border_dark": 0.25,
             "min_contrast": 8, "max_mean": 160}


def page_rule_withholds(rgb: np.ndarray, pixels: np.ndarray) -> bool:
    """Decoded RGB [h, w, 3] and the model input [h, w, c] -> whether the page's input rule withholds it."""
    r = PAGE_RULE
    chroma = float((rgb.max(-1) - rgb.min(-1)).mean())
    gray = pixels[..., 0] if pixels.shape[-1] == 1 else pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    band = max(1, round(min(gray.shape) * r["border_fraction"]))
    inner = np.zeros(gray.shape, bool)
    inner[band:-band, band:-band] = True
    border_dark = float((gray[~inner] < r["dark_level"]).mean())
    return (chroma > r["max_chroma"] or float(gray.std()) < r["min_contrast"]
            or border_dark < r["min_border_dark"] or float(gray.mean()) > r["max_mean"])


class Extractor:
    """The model with one layer's pooled features as a second output: files -> (features, page-rule verdicts)."""

    def __init__(self, model_path: Path, layer: str):
        self.metadata = read_metadata(model_path.parent / "metadata.json")
        self.model = feature_scope.feature_model(load_model(str(model_path)), {"layer": layer})

    def __call__(self, blobs: list[bytes], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        m = self.metadata
        features, withheld = [], []
        for start in range(0, len(blobs), batch):
            inputs = []
            for data in blobs[start:start + batch]:
                rgb = decode_image(data)
                inputs.append(to_model_input(rgb, m.height, m.width, m.channels))
                withheld.append(page_rule_withholds(rgb, inputs[-1]))
            features.append(self.model.predict_on_batch(np.stack(inputs))[0])
        return np.concatenate(features).astype(np.float32), np.array(withheld)


def read_split(path: Path) -> dict[str, list[dict]]:
    subsets: dict[str, list[dict]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            subsets.setdefault(row["subset"], []).append(row)
    return subsets


def fit(features: np.ndarray, labels: list[str], classes: list[str], directions: int) -> dict:
    """Class means and the shared within-class covariance (Ledoit-Wolf shrinkage), kept as its top
    `directions` eigenvectors with 1/sqrt(eigenvalue) and one residual scale for the rest."""
    labels = np.asarray(labels)
    means = np.stack([features[labels == c].mean(0) for c in classes])
    residuals = features - means[[classes.index(label) for label in labels]]
    values, vectors = np.linalg.eigh(LedoitWolf(assume_centered=True).fit(residuals).covariance_)
    top = np.argsort(values)[::-1][:directions]
    rest = np.delete(values, top)
    return {"means": means, "components": vectors[:, top].T, "scales": 1 / np.sqrt(values[top]),
            "residual_scale": float(1 / np.sqrt(rest.mean())) if rest.size else 0.0}


def tfjs_node(model_json: Path, layer: str) -> str | None:
    """The graph model's node that gives `layer`'s output (the converter prefixes and suffixes Keras names)."""
    if not model_json.is_file():
        return None
    nodes = json.loads(model_json.read_text())["modelTopology"]["node"]
    scope = re.compile(rf"(^|/){re.escape(layer)}(_\d+)?/")
    hits = [n["name"] for n in nodes if n["op"] != "Const" and scope.search(n["name"])]
    return hits[-1] if hits else None


def rounded(array, digits: int = 6):
    """float32 values to `digits` significant digits, as nested lists for JSON."""
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"))(np.asarray(array, np.float32)).tolist()


def scope_block(fitted: dict, layer: str, node: str | None, cutoff: float, percentile: float, images: dict) -> dict:
    return {"layer": layer, "node": node, "pool": "mean over the feature map's positions",
            "score": "Mahalanobis distance to the nearest class mean, shared Ledoit-Wolf covariance as top "
                     "directions plus one residual variance, per dimension: sqrt(d^2 / D)",
            "means": rounded(fitted["means"]), "components": rounded(fitted["components"]),
            "scales": rounded(fitted["scales"]), "residual_scale": rounded(fitted["residual_scale"]),
            "cutoff": rounded(cutoff), "percentile": percentile, "images": images}


def measure(extract: Extractor, rows: dict, generated: dict, unseen: list[bytes], classes, directions, percentile):
    """Fit on the training sample, cut on validation; -> (block parts, cutoff, {group: (n, page, score)})."""
    blobs = {name: [Path(r["path"]).read_bytes() for r in subset] for name, subset in rows.items()}
    found = {name: extract(b) for name, b in blobs.items()}
    fitted = fit(found["train"][0], [r["label"] for r in rows["train"]], classes, directions)
    fitted["cutoff"] = 0.0
    scored = {name: (feature_scope.distances(f, fitted), page) for name, (f, page) in found.items()}
    cutoff = float(np.percentile(scored["validation"][0], percentile))
    groups = {"validation subset": scored["validation"], "test subset": scored["test"]}
    sources = np.array([r["source"] for r in rows["test"]])
    for source in sorted(set(sources)):
        groups[f"test: {source}"] = tuple(a[sources == source] for a in scored["test"])
    for family, kinds in generated.items():
        for kind, images in kinds.items():
            f, page = extract(images)
            groups[f"{family}: {kind}"] = (feature_scope.distances(f, fitted), page)
    if unseen:
        f, page = extract(unseen)
        groups[f"unseen collection {UNSEEN}"] = (feature_scope.distances(f, fitted), page)
    counts = {g: (len(d), int(page.sum()), int((d > cutoff).sum()), int(((d > cutoff) | page).sum()))
              for g, (d, page) in groups.items()}
    return fitted, cutoff, counts


def render(command: str, block: dict, counts: dict, penultimate: dict | None) -> str:
    def pct(k, n):
        return f"{k} ({100 * k / n:.1f} %)" if n else "n/a"

    lines = ["# The feature scope: no verdict for images unlike the training slices", "",
             f"`{command}`", "",
             f"Score: {block['score']}, on layer `{block['layer']}` ({block['pool']}; graph node `{block['node']}`), "
             f"{len(block['scales'])} directions. Fitted on {block['images']['train']} training-subset images; "
             f"cut-off {block['cutoff']} = the {block['percentile']}th percentile of the "
             f"{block['images']['validation']} validation-subset distances (never set on test). "
             "Generated images: training/ood_images.py with seed 0; the score and layer were chosen on seed 1. "
             f"The unseen collection `{UNSEEN}` chose nothing.", "",
             "Page rule = the page's input rule (results.js: colour, uniform, no background); "
             "combined = either withholds.", "",
             "| images | n | page rule withholds | feature scope withholds | combined withholds |"
             + (f" feature scope on `{PENULTIMATE}` |" if penultimate else ""),
             "| --- | --- | --- | --- | --- |" + (" --- |" if penultimate else "")]
    for group, (n, page, score, both) in counts.items():
        extra = f" {pct(penultimate[group][2], n)} |" if penultimate else ""
        lines.append(f"| {group} | {n} | {pct(page, n)} | {pct(score, n)} | {pct(both, n)} |{extra}")
    lines += ["", f"Why `{block['layer']}` and not the penultimate layer (`{PENULTIMATE}`, what the dense head reads): "
              "on the seed-1 images the penultimate features placed uniform water-bottle discs among the real slices, "
              "the middle layer's texture statistics did not" + (" (last column, fitted and cut the same way)."
                                                                  if penultimate else
                                                                  f"; `--compare-layer {PENULTIMATE}` adds it as a "
                                                                  "column."), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "frontend" / "model" / "model.h5")
    parser.add_argument("--split", type=Path, default=ROOT / "reports" / "final-model" / "split.csv")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "feature-scope.md")
    parser.add_argument("--write-metadata", type=Path, help="metadata.json to write the feature_scope block into")
    parser.add_argument("--layer", default=LAYER)
    parser.add_argument("--compare-layer", default="", help=f"a layer to compare with, e.g. {PENULTIMATE}")
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--directions", type=int, default=DIRECTIONS)
    parser.add_argument("--percentile", type=float, default=PERCENTILE)
    parser.add_argument("--generated", type=int, default=300, help="generated images per family")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    subsets = read_split(args.split)
    rows = {"train": random.Random(args.seed).sample(subsets["train"], min(args.train_images, len(subsets["train"]))),
            "validation": subsets["validation"], "test": subsets["test"]}
    generated = ood_images.generated(args.generated, args.seed)
    folder = ROOT.parent / "shared" / "data" / UNSEEN
    unseen = [p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()] if folder.is_dir() else []
    classes = list(read_metadata(args.model.parent / "metadata.json").labels)

    def run(layer):
        return measure(Extractor(args.model, layer), rows, generated, unseen, classes, args.directions, args.percentile)

    fitted, cutoff, counts = run(args.layer)
    penultimate = run(args.compare_layer)[2] if args.compare_layer else None
    block = scope_block(fitted, args.layer, tfjs_node(args.model.parent / "model.json", args.layer), cutoff,
                        args.percentile, {"train": len(rows["train"]), "validation": len(rows["validation"])})
    command = f"python -m training.feature_scope --model {args.model} --split {args.split} --report {args.report}"
    command += f" --write-metadata {args.write_metadata}" if args.write_metadata else ""
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(render(command, block, counts, penultimate))
    if args.write_metadata:
        document = json.loads(args.write_metadata.read_text())
        document[feature_scope.BLOCK] = block
        args.write_metadata.write_text(json.dumps(document, indent=2) + "\n")
    print(args.report.read_text())


if __name__ == "__main__":
    main()
