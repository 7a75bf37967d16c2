"""The README's model card, written from the files that hold its figures so that it cannot drift
from them: frontend/model/metadata.json (the shipped model's own record, training's and the
converter's) and the committed reports' JSON (final model, leave one collection out, operating
points, model comparison, sequence probe).

    python -m training.model_card            # rewrite the card between its markers in README.md
    python -m training.model_card --check    # exit 1, saying what to run, if the card is stale

Run it after any of those files changes (`make reports` does). Reads JSON only: no TensorFlow.
The page builds its own card from metadata.json at run time (frontend/js/shared/modelcard.js).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.model_card_text import render_card, share

REPO = Path(__file__).resolve().parents[1]
START = "<!-- model-card:start: written by `python -m training.model_card` from the files it names; do not edit -->"
END = "<!-- model-card:end -->"
METADATA = "frontend/model/metadata.json"
# Each source and the command that writes it, for the message when one is missing.
REPORTS = {
    "final": ("reports/final-model.json", "python -m training.train ... --report reports/final-model.md"),
    "loco": ("reports/loco-shipped-length.json",
             "python -m training.loco ... --epochs 64 --resume --report reports/loco-shipped-length.md"),
    "points": ("reports/operating-points.json",
               "python -m training.operating_points ... --report reports/operating-points.md"),
    "comparison": ("reports/comparison.json", "python -m training.compare ... --report reports/comparison.md"),
    "probe": ("reports/sequence-probe.json",
              "python -m training.sequence_probe ... --report reports/sequence-probe.md"),
}


class CardError(Exception):
    """A source is missing, unreadable or describes another model; the message says what to run."""


def read_sources(root: Path) -> dict:
    def read(relative: str, command: str) -> dict:
        path = root / relative
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise CardError(f"{path} is missing; it is written by `{command}`.") from None
        except json.JSONDecodeError as err:
            raise CardError(f"{path} is not valid JSON ({err}); rerun `{command}`.") from None

    sources = {key: read(*where) for key, where in REPORTS.items()}
    sources["metadata"] = read(METADATA, "python -m training.train --ship frontend/model, then python -m convert")
    check_same_model(sources)
    return sources


def check_same_model(sources: dict) -> None:
    """The reports must describe the shipped model: a stale one would put another model's figures
    on its card."""
    shipped, reported = sources["metadata"]["metrics"]["test"], sources["final"]["results"][0]["test"]
    if (shipped["n"], round(shipped["accuracy"], 6)) != (reported["n"], round(reported["accuracy"], 6)):
        raise CardError(f"{REPORTS['final'][0]} (test accuracy {share(reported['accuracy'])} on {reported['n']}) "
                        f"describes another model than {METADATA} ({share(shipped['accuracy'])} on {shipped['n']}): "
                        "rerun the report or ship its model.")
    recorded = sources["metadata"].get("decision", {}).get("possible_threshold")
    if recorded is None or abs(recorded - sources["points"]["possible_threshold"]) > 1e-4:
        raise CardError(f"{METADATA} records the middle level from {recorded}, {REPORTS['points'][0]} from "
                        f"{sources['points']['possible_threshold']:.4f}: rerun training.operating_points "
                        "with --write-decision frontend/model/metadata.json.")



def replace_card(readme: str, card: str, path: Path) -> str:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise CardError(f"{path} has no model card markers; put the lines\n{START}\n{END}\nwhere the card belongs.")
    return readme[: start + len(START)] + "\n" + card + "\n" + readme[end:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.model_card", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=REPO,
                        help="the repository whose files to read (default: this one)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if README.md's card is stale")
    args = parser.parse_args(argv)
    readme_path = args.root / "README.md"
    try:
        readme = readme_path.read_text()
        updated = replace_card(readme, render_card(read_sources(args.root)), readme_path)
    except CardError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.check:
        if updated != readme:
            print(f"{readme_path}'s model card differs from what its sources give: run python -m training.model_card",
                  file=sys.stderr)
            return 1
        print(f"{readme_path}'s model card is up to date.")
        return 0
    readme_path.write_text(updated)
    print(f"Wrote the model card in {readme_path}" + (" (unchanged)." if updated == readme else "."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
