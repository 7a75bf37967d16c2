"""Measures the page's "may not be a brain MRI" rule (frontend/js/shared/results.js, RELIABILITY), which
withholds the verdict (result level "not-mri"), and its "uncertain" flag, on real MRI slices and
on generated images that are not MRI, by classifying them in the page itself (headless Chromium,
window.classifier). Writes reports/ood-rule.md.

    python -m bench.ood_rule [--model DIR] [--per-kind 30] [--mri-per-set 150]

A withheld verdict on an MRI slice is a false alarm; a non-MRI image that gets a verdict slipped
through.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import io
import json
import random
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bench.browser import chromium, classify_bytes, open_page
from bench.static_server import make_server, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data"
MRI_SETS = ("brain-mri-4class", "brain-mri-yes-no", "brain-mri-lgg-flair")
SIZE = 256
INPUT_CODES = ("colour", "uniform", "no-background")


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(out, "PNG")
    return out.getvalue()


def _smooth(rng, channels: int, cells: int = 8) -> np.ndarray:
    """Low-frequency noise, like the light and shade of a photograph."""
    coarse = rng.uniform(0, 255, (cells, cells, channels)).astype(np.uint8)
    image = Image.fromarray(coarse.squeeze()).resize((SIZE, SIZE), Image.BICUBIC)
    return np.asarray(image, np.float32)


def _gradient(rng, colour: bool) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[:SIZE, :SIZE] / SIZE
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / (t.max() - t.min())
    a, b = (rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)) if colour else (np.full(3, rng.uniform(0, 80)),
                                                                            np.full(3, rng.uniform(170, 255)))
    return a + (b - a) * t[..., None]


def _shapes(rng) -> np.ndarray:
    image = Image.new("RGB", (SIZE, SIZE), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.integers(-40, SIZE, 2)
        x1, y1 = x0 + rng.integers(20, 160), y0 + rng.integers(20, 160)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([int(x0), int(y0), int(x1), int(y1)], fill=fill)
    return np.asarray(image.filter(ImageFilter.GaussianBlur(2)), np.float32)


def _document(rng) -> np.ndarray:
    image = Image.new("L", (SIZE, SIZE), int(rng.integers(225, 256)))
    draw = ImageDraw.Draw(image)
    for line in range(14, SIZE - 14, 16):
        x = 12
        while x < SIZE - 30:
            width = int(rng.integers(8, 40))
            draw.rectangle([x, line, x + width, line + 7], fill=int(rng.integers(0, 60)))
            x += width + int(rng.integers(4, 10))
    return np.asarray(image, np.float32)


def _silhouette(rng) -> np.ndarray:
    """The hard case: a gray textured oval on black, MRI-like in layout but not an MRI."""
    yy, xx = np.mgrid[:SIZE, :SIZE] / SIZE
    inside = (xx - 0.5) ** 2 / rng.uniform(0.08, 0.16) + (yy - 0.5) ** 2 / rng.uniform(0.1, 0.2) < 1
    return _smooth(rng, 1, cells=16)[..., 0] * inside


GENERATORS = {
    "noise, gray": lambda rng: rng.uniform(0, 255, (SIZE, SIZE)),
    "noise, colour": lambda rng: rng.uniform(0, 255, (SIZE, SIZE, 3)),
    "gradient, gray": lambda rng: _gradient(rng, colour=False),
    "gradient, colour": lambda rng: _gradient(rng, colour=True),
    "photo-like colour shapes": _shapes,
    "photo-like gray scene": lambda rng: _smooth(rng, 1)[..., 0],
    "document (text on white)": _document,
    "flat gray": lambda rng: np.full((SIZE, SIZE), rng.uniform(0, 255)),
    "gray oval on black (MRI-like layout)": _silhouette,
}


def generated_images(per_kind: int, seed: int = 0) -> dict[str, list[tuple[str, bytes]]]:
    rng = np.random.default_rng(seed)
    return {kind: [(f"{kind}-{i}.png", _png(make(rng))) for i in range(per_kind)] for kind, make in GENERATORS.items()}


def mri_images(per_set: int, seed: int = 0) -> dict[str, list[tuple[str, bytes]]]:
    picked = {}
    for name in MRI_SETS:
        folder = DATA / name
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        chosen = random.Random(seed).sample(files, min(per_set, len(files)))
        picked[f"MRI: {name}"] = [(p.name, p.read_bytes()) for p in chosen]
    return picked


def inverted(images: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """MRI slices with gray levels inverted: right content, wrong look."""
    out = []
    for name, data in images:
        gray = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32)
        out.append((f"inverted-{name}", _png(255 - gray)))
    return out


async def classify_all(base: str, groups: dict[str, list[tuple[str, bytes]]]) -> dict[str, list[dict]]:
    async with chromium() as browser:
        context, page, info, _ = await open_page(browser, base)
        results = {kind: [await classify_bytes(page, name, data) for name, data in images]
                   for kind, images in groups.items()}
        await context.close()
    return results, info


def summarise(results: list[dict]) -> dict:
    ok = [r for r in results if "error" not in r]
    flags = collections.Counter(code for r in ok for code in r["flags"])
    return {
        "images": len(results),
        "errors": len(results) - len(ok),
        "flagged": sum(bool(r["flags"]) for r in ok),
        "input_flagged": sum(any(c in INPUT_CODES for c in r["flags"]) for r in ok),
        "low_confidence": flags["low-confidence"],
        "codes": dict(flags),
        "no_verdict": sum(r["level"] == "not-mri" for r in ok),
        "levels": dict(collections.Counter(r["level"] for r in ok if r["level"] != "not-mri")),
    }


def describe_model(metadata: dict) -> str:
    """'compact, held-out test accuracy 86.1 %' (or the metadata's own note for a placeholder)."""
    parts = [str(metadata.get("architecture", "unknown architecture"))]
    accuracy = ((metadata.get("metrics") or {}).get("test") or {}).get("accuracy")
    if accuracy is not None:
        parts.append(f"held-out test accuracy {100 * accuracy:.1f} %")
    note = (metadata.get("training") or {}).get("note")
    if note:
        parts.append(note)
    return ", ".join(parts)


def render(rows: dict[str, dict], info: dict, model_note: str | None, command: str) -> str:
    def pct(n, d):
        return f"{100 * n / d:.0f} %" if d else "n/a"

    lines = [
        "# The \"may not be a brain MRI\" rule and the \"uncertain\" flag, measured",
        "",
        f"`{command}` on {time.strftime('%Y-%m-%d %H:%M')}, in headless Chromium through `window.classifier` "
        f"(backend {info['backend']}, model version `{info['version']}`"
        + (f": {model_note}" if model_note else "") + ").",
        "",
        "The rule (frontend/js/shared/results.js `verdictOf`, `RELIABILITY`): the page gives **no verdict** "
        "(result level `not-mri`, its reasons instead) when the input does not look like a brain MRI slice: "
        "mean RGB chroma above 12 (`colour`), standard deviation of the 0-255 model input below 8 (`uniform`), "
        "or less than 25 % of the outer band (1/16 of the side) darker than 40, or a mean above 160 "
        "(`no-background`). The input thresholds "
        "sit outside the range of 1,500 real slices from the three data sets. A result with a verdict is flagged "
        "**uncertain** when the top class has probability below 0.6 (`low-confidence`).",
        "",
        "| images | n | no verdict (not MRI) | low confidence | codes | verdicts shown: likely / possible / none |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, s in rows.items():
        n = s["images"] - s["errors"]
        codes = ", ".join(f"{k} {v}" for k, v in sorted(s["codes"].items())) or "none"
        unreadable = f" ({s['errors']} unreadable)" if s["errors"] else ""
        levels = " / ".join(pct(s["levels"].get(level, 0), n) for level in ("likely", "possible", "none"))
        lines.append(f"| {kind} | {n}{unreadable} | {pct(s['no_verdict'], n)} | {pct(s['low_confidence'], n)} | "
                     f"{codes} | {levels} |")
    mri = [s for k, s in rows.items() if k.startswith("MRI:")]
    other = [s for k, s in rows.items() if not k.startswith("MRI:")]
    if mri and other:
        false_alarm = sum(s["no_verdict"] for s in mri) / max(1, sum(s["images"] - s["errors"] for s in mri))
        caught = sum(s["no_verdict"] for s in other) / max(1, sum(s["images"] - s["errors"] for s in other))
        caught_any = sum(s["flagged"] for s in other) / max(1, sum(s["images"] - s["errors"] for s in other))
        lines += [
            "",
            f"No verdict on {100 * false_alarm:.1f} % of real MRI slices (false alarms) and on "
            f"{100 * caught:.0f} % of the "
            f"non-MRI images ({100 * caught_any:.0f} % of them withheld or flagged uncertain).",
        ]
    lines += [
        "",
        "Reading it: the input checks are independent of the model and catch what is plainly not a grayscale slice on "
        "a dark background. A gray textured oval on black passes them by design (it has the layout of a slice): for "
        "such inputs only the model's own confidence can warn, and a model trained on four MRI classes can still be "
        "confidently wrong on them. The low-confidence share and the levels on real slices depend on the model; "
        "rerun this after each new model.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model folder to serve at /model/ (default: frontend/model/)")
    parser.add_argument("--per-kind", type=int, default=30, help="generated images of each kind (default 30)")
    parser.add_argument("--mri-per-set", type=int, default=150, help="real slices from each data set (default 150)")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "ood-rule.md",
                        help="where to write the report")
    parser.add_argument("--model-note",
                        help="where the --model came from, for the report (e.g. the run it was trained in)")
    args = parser.parse_args()

    model_dir = (args.model or ROOT / "frontend" / "model").resolve()
    groups = mri_images(args.mri_per_set)
    first_set = next(iter(groups.values()), [])
    groups.update(generated_images(args.per_kind))
    if first_set:
        groups["inverted MRI slices"] = inverted(first_set[:args.per_kind])
    server = make_server(0, None if args.model is None else model_dir)
    results, info = asyncio.run(classify_all(serve_in_thread(server), groups))
    server.shutdown()
    note = describe_model(json.loads((model_dir / "metadata.json").read_text()))
    if args.model_note:
        note = f"{note}; {args.model_note}"
    command = "python -m bench.ood_rule" + (f" --model {args.model}" if args.model else "")
    report = render({kind: summarise(r) for kind, r in results.items()}, info, note, command)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
