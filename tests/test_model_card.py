"""The README's model card is what `python -m training.model_card` writes from the committed
metadata.json and reports, so a figure changed in one place and not the other fails here."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from training import model_card

REPO = Path(__file__).resolve().parents[1]
SOURCES = [model_card.METADATA, *(path for path, _ in model_card.REPORTS.values())]


def copy_sources(root: Path) -> Path:
    for relative in [*SOURCES, "README.md"]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, root / relative)
    return root


def edit_json(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_the_readme_card_is_what_the_committed_files_give():
    readme = (REPO / "README.md").read_text()
    expected = model_card.replace_card(readme, model_card.render_card(model_card.read_sources(REPO)),
                                       REPO / "README.md")
    assert readme == expected, "README.md's model card is stale: run python -m training.model_card"


def test_the_card_shows_the_shipped_models_own_figures():
    card = model_card.render_card(model_card.read_sources(REPO))
    metadata = json.loads((REPO / model_card.METADATA).read_text())
    test = metadata["metrics"]["test"]
    assert f"**{100 * test['accuracy']:.1f} %**" in card
    assert f"{metadata['decision']['possible_threshold']:.3f}" in card
    assert f"`{metadata['architecture']}`" in card


def test_a_changed_figure_makes_the_check_fail_until_the_card_is_rewritten(tmp_path, capsys):
    root = copy_sources(tmp_path)
    for source in (model_card.METADATA, model_card.REPORTS["final"][0]):
        def lower(document):
            test = document["metrics"]["test"] if "metrics" in document else document["results"][0]["test"]
            test["accuracy"] = 0.5
        edit_json(root / source, lower)
    assert model_card.main(["--root", str(root), "--check"]) == 1
    assert "run python -m training.model_card" in capsys.readouterr().err
    assert model_card.main(["--root", str(root)]) == 0
    assert "**50.0 %**" in (root / "README.md").read_text()
    assert model_card.main(["--root", str(root), "--check"]) == 0


def test_a_report_of_another_model_is_refused(tmp_path, capsys):
    root = copy_sources(tmp_path)
    edit_json(root / model_card.REPORTS["final"][0], lambda d: d["results"][0]["test"].update(accuracy=0.5))
    assert model_card.main(["--root", str(root), "--check"]) == 2
    message = capsys.readouterr().err
    assert "reports/final-model.json" in message and "frontend/model/metadata.json" in message


def test_a_middle_level_not_recorded_in_metadata_is_refused(tmp_path):
    root = copy_sources(tmp_path)
    edit_json(root / model_card.REPORTS["points"][0], lambda d: d.update(possible_threshold=0.1))
    with pytest.raises(model_card.CardError, match="--write-decision"):
        model_card.read_sources(root)


def test_a_missing_report_names_the_command_that_writes_it(tmp_path):
    root = copy_sources(tmp_path)
    (root / model_card.REPORTS["loco"][0]).unlink()
    with pytest.raises(model_card.CardError, match="python -m training.loco"):
        model_card.read_sources(root)


def test_a_readme_without_markers_is_refused(tmp_path):
    root = copy_sources(tmp_path)
    (root / "README.md").write_text("# A README with no card\n")
    assert model_card.main(["--root", str(root)]) == 2
    assert (root / "README.md").read_text() == "# A README with no card\n"
