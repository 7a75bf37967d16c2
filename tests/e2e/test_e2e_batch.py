"""A batch a researcher can use: a folder of real slices in class sub-folders, picked with the
folder picker, gives a tally and a confusion table that agree with the table's rows, a CSV that
names the model version and the cut-offs (and gives not-MRI rows no label), and a PDF of its own
row."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from tests.conftest import real_data
from tests.e2e.harness import screenshot
from tests.e2e.test_e2e_page import colour_photo

PER_CLASS = 3
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# The table's words for each outcome -> the keys of the tally and the confusion table.
OUTCOME_OF_VERDICT = {"Tumour likely": "likely", "Possible tumour: look closely": "possible",
                      "No tumour found": "none", "No result: not an MRI slice?": "not-mri",
                      "Could not be read": "failed", "Not an image": "unsupported"}
TALLY_WORDS = {"likely": "Tumour likely", "possible": "Possible tumour", "none": "No tumour found",
               "not-mri": "No verdict (not an MRI slice?)", "failed": "Could not be read",
               "unsupported": "Not an image"}
UNSURE_WORDS = {"tumour": "tumour or not", "type": "type", "model": "top class"}
# What the detail panel's uncertain box names, item by item.
WHAT_IS_UNCERTAIN = "() => [...document.querySelectorAll('#warning-list li')].map((li) => li.dataset.about)"
ANSWERS = ("likely", "possible", "none", "not-mri", "failed")


def labelled_folder(root: Path) -> Path:
    """labelled/glioma/ and labelled/notumor/ holding real slices, a colour photo among the
    no-tumour ones (no verdict), and a PDF beside them."""
    data = real_data("brain-mri-4class")
    folder = root / "labelled"
    for label in ("glioma", "notumor"):
        (folder / label).mkdir(parents=True)
        for path in sorted((data / label).iterdir())[:PER_CLASS]:
            (folder / label / path.name).write_bytes(path.read_bytes())
    (folder / "notumor" / "photo.png").write_bytes(colour_photo())
    (folder / "notes.pdf").write_bytes(PDF)
    return folder


def test_a_labelled_folder_gives_a_tally_a_confusion_table_and_a_csv_that_agree_with_the_rows(app, tmp_path):
    folder = labelled_folder(tmp_path)
    app.page.set_input_files("#folder-input", str(folder))
    count = 2 * PER_CLASS + 2
    app.wait_for_batch(count)
    rows = app.rows()
    assert len(rows) == count and all(name.startswith("labelled/") for name in rows), rows
    outcomes = {name: OUTCOME_OF_VERDICT[row["verdict"]] for name, row in rows.items()}

    # The PDF has its own row, naming the file and what to do.
    pdf = rows["labelled/notes.pdf"]
    assert outcomes["labelled/notes.pdf"] == "unsupported", pdf
    assert pdf["error"].startswith("notes.pdf is a PDF document, not an image") and "PNG or JPEG" in pdf["error"], pdf
    assert outcomes["labelled/notumor/photo.png"] == "not-mri", rows

    # The tally counts the rows.
    counts = {key: list(outcomes.values()).count(key) for key in TALLY_WORDS}
    expected = [f"{TALLY_WORDS[key]}: {n}" for key, n in counts.items() if n or key in ("likely", "possible", "none")]
    assert app.page.inner_text("#tally") == " · ".join(expected)

    # The confusion table: folder label x answer, the PDF (no image) outside it.
    table = app.page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('#confusion-table tbody tr')].map((tr) => [tr.dataset.label,
            Object.fromEntries([...tr.querySelectorAll('td[data-answer]')].map((td) =>
                [td.dataset.answer, Number(td.textContent)]))]))""")
    expected_table = {label: {key: sum(1 for name, o in outcomes.items() if name.split("/")[1] == label and o == key)
                              for key in ANSWERS} for label in ("glioma", "notumor")}
    assert table == expected_table, (table, rows)

    # Sensitivity and specificity, counting "possible" as tumour, from the same counts.
    glioma, notumor = expected_table["glioma"], expected_table["notumor"]
    hits, of = glioma["likely"] + glioma["possible"], glioma["likely"] + glioma["possible"] + glioma["none"]
    clear, clear_of = notumor["none"], notumor["likely"] + notumor["possible"] + notumor["none"]
    screening = app.page.inner_text("#screening")
    assert f'Counting "possible tumour" as tumour: sensitivity {hits} of {of} ' in screening, screening
    assert f"specificity {clear} of {clear_of} " in screening, screening
    assert "Not counted: 1 labelled file with no verdict or unreadable." in screening, screening

    # The uncertain mark and the detail panel's box say the same thing is uncertain.
    flags = dict(app.page.evaluate("""() => [...document.querySelectorAll('#results-body tr')].map((tr) =>
        [tr.querySelector('.row-link').textContent, tr.querySelector('.flag')?.textContent ?? null])"""))
    for name, flag in flags.items():
        if outcomes[name] not in ("likely", "possible", "none"):
            continue
        app.page.locator("#results-body .row-link", has_text=name).click()
        about = app.page.evaluate(WHAT_IS_UNCERTAIN)
        assert app.page.is_visible("#warnings") == bool(flag), (name, flag, about)
        if flag:
            assert flag == "uncertain: " + ", ".join(UNSURE_WORDS[a] for a in about), (name, flag, about)

    # The CSV names the model version and the cut-offs on every line; the not-MRI row has no label.
    with app.page.expect_download() as download:
        app.page.click("#export-csv")
    lines = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(lines) == count
    decision = app.info["metadata"]["decision"]
    for line in lines:
        assert line["model_version"] == str(app.info["version"]), line
        assert float(line["tumor_threshold"]) == decision["tumor_threshold"], line
        assert float(line["possible_threshold"]) == decision["possible_threshold"], line
    by_file = {line["file"]: line for line in lines}
    photo = by_file["labelled/notumor/photo.png"]
    assert photo["level"] == "not-mri" and photo["label"] == "" and photo["folder_label"] == "notumor", photo
    assert all(by_file[name]["label"] for name, o in outcomes.items() if o in ("likely", "possible", "none"))
    pdf_line = by_file["labelled/notes.pdf"]
    assert pdf_line["status"] == "error" and pdf_line["error"].startswith("notes.pdf is a PDF document"), pdf_line
    assert re.fullmatch(r"[A-Za-z0-9._-]+", lines[0]["model_version"]), lines[0]
    screenshot(app, "labelled-folder", "results-panel")
