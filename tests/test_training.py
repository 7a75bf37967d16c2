"""Training stage: reading folders, odd files, leak-free splits, a full tiny run, tf.distribute."""
import io
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mri.images import ImageDecodeError, decode_image, load_model_input
from tests.conftest import REPO, blob_image, real_data
from training.folders import DataError, load_images, scan_folders
from training.split import group_near_duplicates, split_by_groups


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# ------------------------------------------------------------------ odd files

def test_png_named_jpg_is_decoded_by_content(tmp_path):
    path = tmp_path / "scan.jpg"
    path.write_bytes(_png_bytes(Image.new("L", (20, 10), 77)))
    rgb = decode_image(path.read_bytes(), str(path))
    assert rgb.shape == (10, 20, 3) and np.all(rgb == 77)


@pytest.mark.parametrize("mode", ["RGBA", "P", "LA", "RGB", "L"])
def test_every_mode_becomes_the_same_gray(mode):
    gray = Image.new("L", (16, 16), 100)
    image = gray.convert(mode)
    pixels = load_model_input(_png_bytes(image), 8, 8, 1)
    assert pixels.shape == (8, 8, 1) and pixels.dtype == np.float32
    np.testing.assert_allclose(pixels, 100, atol=0.51)


def test_sixteen_bit_grayscale_scales_to_0_255():
    values = np.array([[0, 65535], [257 * 100, 257 * 200]], dtype=np.uint16)
    rgb = decode_image(_png_bytes(Image.fromarray(values)), "16bit.png")
    np.testing.assert_allclose(rgb[..., 0], [[0, 255], [100, 200]], atol=1e-3)


def test_truncated_jpeg_names_the_file():
    buf = io.BytesIO()
    Image.fromarray(blob_image(np.random.default_rng(0), 64, True)).save(buf, format="JPEG")
    with pytest.raises(ImageDecodeError, match="cut.jpg"):
        decode_image(buf.getvalue()[: len(buf.getvalue()) // 2], "cut.jpg")


def test_empty_and_non_image_files_are_clear_errors():
    with pytest.raises(ImageDecodeError, match="empty"):
        decode_image(b"", "zero.png")
    with pytest.raises(ImageDecodeError, match="notes.txt could not be read"):
        decode_image(b"hello, not an image", "notes.txt")


def test_unreadable_file_is_skipped_and_counted(image_folder, capsys):
    root = image_folder(per_class=4, size=32)
    (root / "tumor" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    records = scan_folders([root])
    pixels, _, _, kept = load_images(records, 16, 16, 1, cache_dir=None)
    out = capsys.readouterr().out
    assert "Skipping" in out and "broken.jpg" in out and "skipped 1 unreadable" in out
    assert len(kept) == len(records) - 1 == len(pixels)


def test_empty_class_folder_is_a_clear_error(image_folder):
    root = image_folder(per_class=3)
    (root / "meningioma").mkdir()
    with pytest.raises(DataError, match="meningioma is empty"):
        scan_folders([root])


def test_single_class_is_a_clear_error(image_folder):
    root = image_folder(per_class=3, classes=("tumor",))
    with pytest.raises(DataError, match="two or more class folders"):
        scan_folders([root])


def test_several_folders_merge_by_class_name(image_folder, tmp_path):
    first = image_folder(per_class=2)
    second = tmp_path / "second"
    shutil.copytree(first, second)
    (second / "glioma").mkdir()
    shutil.copy(next((first / "tumor").iterdir()), second / "glioma" / "g.png")
    records = scan_folders([first, second])
    assert sorted({r.label for r in records}) == ["glioma", "notumor", "tumor"]
    assert {r.source for r in records} == {"data", "second"}


# ------------------------------------------------------------------ leak-free split

def _folder_with_near_duplicates(tmp_path, groups=30):
    """Each original scan plus a re-encoded, resized and mirrored copy of it."""
    rng = np.random.default_rng(3)
    root = tmp_path / "dups"
    for g in range(groups):
        label = "tumor" if g % 2 else "notumor"
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        original = Image.fromarray(blob_image(rng, 96, bright_spot=g % 2 == 1))
        original.save(folder / f"scan{g}.png")
        original.resize((80, 80)).save(folder / f"scan{g}_small.jpg", quality=70)
        original.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / f"scan{g}_mirror.png")
    return root


def test_near_duplicates_share_a_group_and_no_group_crosses_subsets(tmp_path):
    records = scan_folders([_folder_with_near_duplicates(tmp_path)])
    _, thumbs, md5s, kept = load_images(records, 32, 32, 1, cache_dir=None)
    groups = group_near_duplicates(kept, thumbs, md5s)
    by_scan = defaultdict(set)
    for r, g in zip(kept, groups):
        by_scan[Path(r.path).stem.split("_")[0]].add(int(g))
    assert all(len(g) == 1 for g in by_scan.values()), "copies of one scan were split into several groups"
    subsets = split_by_groups(kept, groups, seed=1)
    subsets_of_group = defaultdict(set)
    for g, s in zip(groups, subsets):
        subsets_of_group[int(g)].add(s)
    assert all(len(s) == 1 for s in subsets_of_group.values())
    assert set(subsets) == {"train", "validation", "test"}


def test_same_seed_same_split_other_seed_other_split(tmp_path):
    records = scan_folders([_folder_with_near_duplicates(tmp_path)])
    _, thumbs, md5s, kept = load_images(records, 32, 32, 1, cache_dir=None)
    groups = group_near_duplicates(kept, thumbs, md5s)
    assert split_by_groups(kept, groups, seed=7) == split_by_groups(kept, groups, seed=7)
    assert split_by_groups(kept, groups, seed=7) != split_by_groups(kept, groups, seed=8)


def test_slices_of_one_patient_share_a_group(tmp_path):
    rng = np.random.default_rng(5)
    for label in ("glioma", "notumor"):
        (tmp_path / "lgg" / label).mkdir(parents=True)
    for i in range(4):  # very different images, same patient
        Image.fromarray(blob_image(rng, 64, i % 2 == 0)[::-1] if i % 2
                        else rng.integers(0, 255, (64, 64), dtype=np.uint8)
                        ).save(tmp_path / "lgg" / ("glioma" if i % 2 else "notumor") / f"TCGA_CS_4941_19960909_{i}.png")
    records = scan_folders([tmp_path / "lgg"])
    _, thumbs, md5s, kept = load_images(records, 16, 16, 1, cache_dir=None)
    assert len(set(group_near_duplicates(kept, thumbs, md5s).tolist())) == 1


# ------------------------------------------------------------------ a whole run

def _run_train(args, env_extra=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "training.train", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


# ------------------------------------------------------------------ augmentation

def test_intensity_curve_keeps_black_black_and_reorders_tissue_brightness():
    import tensorflow as tf

    from training.augment import random_intensity_curve

    ramp = tf.reshape(tf.linspace(0.0, 255.0, 256), [16, 16, 1])
    curves = [random_intensity_curve(ramp, tf.constant([s, 7], tf.int64)).numpy().ravel() for s in range(20)]
    for curve in curves:
        assert curve[0] == 0.0 and curve.min() >= 0.0 and 200.0 < curve.max() <= 255.0 + 1e-3
        assert curve[:20].max() <= 0.3 * 255 + 1e-3  # the darkest levels stay dark
    # Some curves are not monotonic: brightness order between tissues changes, as between sequences.
    assert any((np.diff(c) < -1e-3).any() for c in curves)
    assert len({round(float(c[128]), 3) for c in curves}) > 10


def test_dark_tissue_turns_bright_while_background_and_other_levels_stay():
    import tensorflow as tf

    from training.sequence_probe.probe import brighten_dark_tissue

    ramp = tf.reshape(tf.linspace(0.0, 255.0, 256), [16, 16, 1])
    for s in range(20):
        out = brighten_dark_tissue(ramp, tf.constant([s, 3], tf.int64)).numpy().ravel()
        grey = ramp.numpy().ravel()
        assert np.array_equal(out[:13], grey[:13])  # air and background (< 5 % grey) untouched
        assert np.allclose(out[90:], grey[90:])  # everything above 35 % grey untouched
        assert out[13:90].max() >= 0.35 * 255 - 1e-3 and (out >= grey - 1e-3).all()  # only ever brighter


def test_only_the_training_pipeline_is_augmented():
    from training.pipelines import make_dataset

    rng = np.random.default_rng(0)
    pixels = np.stack([blob_image(rng, 64, bright_spot=True)[..., None] for _ in range(8)]).astype(np.float16)
    labels = np.arange(8) % 2
    plain = np.concatenate([x.numpy() for x, _ in make_dataset(pixels, labels, 4, training=False)])
    np.testing.assert_array_equal(plain, pixels.astype(np.float32))
    augmented = np.concatenate([x.numpy() for x, _ in make_dataset(pixels, labels, 4, training=True)])
    assert augmented.shape == plain.shape and augmented.min() >= 0.0 and augmented.max() <= 255.0
    assert not np.allclose(np.sort(augmented.ravel()), np.sort(plain.ravel()))


def test_one_epoch_run_writes_artifacts_and_reloads_identically(image_folder, tmp_path):
    from mri.layers import load_model
    from training.train import main

    root = image_folder(per_class=24, size=40)
    external = image_folder(per_class=5, size=40, seed=4, name="unseen")
    out, report = tmp_path / "run", tmp_path / "reports" / "final.md"
    assert main(["--data", str(root), "--model", "lenet", "--out", str(out), "--epochs", "1",
                 "--image-size", "32", "--batch-size", "8", "--cache-dir", "", "--external", str(external),
                 "--report", str(report), "--ship", str(tmp_path / "ship")]) == 0
    assert "| **lenet** |" in report.read_text() and "unseen" in report.read_text()
    assert "paper's" not in report.read_text()  # one model: nothing to compare it with
    shipped = json.loads((tmp_path / "ship" / "metadata.json").read_text())
    assert shipped["metrics"]["external"][0]["tumor_images"] == 5
    for name in ("model.h5", "metadata.json", "split.csv", "curves.png"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["labels"] == ["notumor", "tumor"] and meta["no_tumor_label"] == "notumor"
    assert meta["input"] == {**meta["input"], "height": 32, "width": 32, "channels": 1}
    assert meta["architecture"] == "lenet" and 0 <= meta["metrics"]["test"]["accuracy"] <= 1
    assert set(meta["training"]["split"]) == {"train", "validation", "test"}
    assert "tensorflow" in meta["training"]["versions"]
    header = (out / "split.csv").read_text().splitlines()[0]
    assert header == "path,label,source,group,subset"
    pixels = np.stack([load_model_input(p.read_bytes(), 32, 32, 1) for p in sorted((root / "tumor").iterdir())[:4]])
    model = load_model(str(out / "model.h5"))
    reloaded = load_model(str(out / "model.h5"))
    np.testing.assert_allclose(model.predict(pixels, verbose=0), reloaded.predict(pixels, verbose=0), atol=1e-6)

    # The saved run's operating points: same split rebuilt from the folders, the unseen set included.
    from training.operating_points.__main__ import main as operating_points

    points = tmp_path / "reports" / "points.md"
    assert operating_points(["--model", str(out / "model.h5"), "--data", str(root), "--external", str(external),
                             "--cache-dir", "", "--report", str(points)]) == 0
    table = json.loads(points.with_suffix(".json").read_text())
    assert [row["threshold"] for row in table["thresholds"]][:2] == [0.5, 0.4]
    assert set(table["thresholds"][0]) >= {"validation", "test", "unseen (unseen)"}
    assert table["thresholds"][-1]["validation"]["sensitivity"] >= 0.97
    other = image_folder(per_class=4, size=40, classes=("glioma", "notumor"), name="other")
    with pytest.raises(SystemExit, match="labels"):
        operating_points(["--model", str(out / "model.h5"), "--data", str(other), "--cache-dir", "",
                          "--report", str(points)])

    # The sequence probe: "as is" reproduces the run's own test figures; each change is measured too.
    from training.sequence_probe.__main__ import main as sequence_probe

    probe_report = tmp_path / "reports" / "probe.md"
    assert sequence_probe(["--model", str(out / "model.h5"), "--data", str(root), "--cache-dir", "",
                           "--report", str(probe_report)]) == 0
    probe = json.loads(probe_report.with_suffix(".json").read_text())["probe"]
    assert list(probe) == ["as is", "CSF made bright (T2-like)", "random intensity curve"]
    as_is = probe["as is"]["data"]
    assert as_is["n"] == meta["metrics"]["test"]["n"]
    assert as_is["tumor_sensitivity"] == pytest.approx(meta["metrics"]["test"]["tumor_sensitivity"])
    assert all(p["data"]["n"] == as_is["n"] for p in probe.values())
    assert "CSF made bright" in probe_report.read_text()


def test_help_documents_every_flag():
    result = _run_train(["--help"])
    assert result.returncode == 0
    for flag in ("--data", "--model", "--out", "--epochs", "--image-size", "--channels", "--batch-size",
                 "--seed", "--distribute"):
        assert flag in result.stdout


def test_distribute_runs_mirrored_strategy_on_two_logical_cpus(image_folder, tmp_path):
    root = image_folder(per_class=16, size=32)
    result = _run_train(["--data", str(root), "--model", "lenet", "--out", str(tmp_path / "dist"), "--epochs", "1",
                         "--image-size", "32", "--batch-size", "4", "--cache-dir", "", "--distribute",
                         "--cpu-devices", "2"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas: 2" in result.stdout
    assert (tmp_path / "dist" / "model.h5").is_file()


def test_short_run_on_real_mri_data(tmp_path):
    source = real_data("brain-mri-4class")
    subset = tmp_path / "real"
    for label in ("glioma", "notumor"):
        (subset / label).mkdir(parents=True)
        for f in sorted((source / label).iterdir())[:30]:
            shutil.copy(f, subset / label / f.name)
    result = _run_train(["--data", str(subset), "--model", "compact", "--out", str(tmp_path / "r"), "--epochs", "1",
                         "--image-size", "64", "--batch-size", "16", "--cache-dir", "", "--class-weight", "balanced"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Class weights: glioma" in result.stdout
    meta = json.loads((tmp_path / "r" / "metadata.json").read_text())
    assert meta["training"]["class_counts"] == {"glioma": 30, "notumor": 30}
    assert meta["training"]["settings"]["class_weight"] == "balanced"


def test_compare_trains_reports_and_ships_the_winner(image_folder, tmp_path):
    from training.compare import main

    root = image_folder(per_class=20, size=40)
    second = image_folder(per_class=12, size=40, seed=5, name="second")  # merged with the first by class name
    external = image_folder(per_class=6, size=40, seed=9, name="external")  # an "unseen collection"
    report, ship = tmp_path / "reports" / "comparison.md", tmp_path / "ship"
    assert main(["--data", str(root), str(second), "--out", str(tmp_path / "runs"), "--models", "lenet", "compact",
                 "--external", str(external), "--epochs", "1", "--image-size", "32",
                 "--batch-size", "8", "--cache-dir", "", "--report", str(report), "--ship", str(ship)]) == 0
    text = report.read_text()
    for needle in ("| lenet |", "compact", "test accuracy", "Collections never seen in training", "Winner",
                   "per source collection", "| data |", "| second |"):
        assert needle in text
    # compact against the one paper model trained here, by name, not "all three"
    assert "against the paper's models" in text and "beat lenet;" in text and "all three" not in text
    results = json.loads(report.with_suffix(".json").read_text())
    per_collection = results["results"][0]["test"]["per_collection"]
    assert set(per_collection) == {"data", "second"}
    assert sum(m["n"] for m in per_collection.values()) == results["results"][0]["test"]["n"]
    assert results["winner"] in ("lenet", "compact")
    assert {r["model"] for r in results["results"]} == {"lenet", "compact"}
    for r in results["results"]:
        assert r["external"][0]["tumor_images"] == 6 and r["cpu_ms_per_image"] > 0
        assert (tmp_path / "reports" / "comparison" / f"{r['model']}-confusion.png").is_file()
    shipped = json.loads((ship / "metadata.json").read_text())
    assert shipped["architecture"] == results["winner"] and "test" in shipped["metrics"]
    assert (ship / "model.h5").is_file() and (tmp_path / "reports" / "comparison" / "split.csv").is_file()


def test_per_group_metrics_split_the_pooled_figures_by_source():
    from training.evaluate import per_group_metrics

    labels = ["notumor", "tumor"]
    # Collection a: all right. Collection b: one tumour missed, one normal called a tumour.
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    y = np.array([0, 1, 0, 0, 1, 1])
    m = per_group_metrics(probabilities, y, ["a", "a", "b", "b", "b", "b"], labels, "notumor")
    assert m["a"] == {"n": 2, "accuracy": 1.0, "tumor_sensitivity": 1.0, "tumor_specificity": 1.0,
                      "tumor_images": 1, "no_tumor_images": 1, "tumor_roc_auc": 1.0}
    assert m["b"]["n"] == 4 and m["b"]["accuracy"] == 0.5
    assert m["b"]["tumor_sensitivity"] == 0.5 and m["b"]["tumor_specificity"] == 0.5


def test_balanced_class_weights_make_every_class_weigh_the_same():
    from training.fit import balanced_class_weights

    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    weights = balanced_class_weights(y, 3)
    totals = [weights[c] * (y == c).sum() for c in range(3)]
    assert np.allclose(totals, len(y) / 3)
    with pytest.raises(ValueError, match="no training images"):
        balanced_class_weights(np.array([0, 0, 2]), 3)


def test_balanced_class_weights_leave_other_type_tumours_at_one():
    # Label 3 of 3 classes: a tumour of another type, which has no output to weigh (Keras gathers
    # the weight by label, so the key must be there).
    from training.fit import balanced_class_weights

    y = np.array([0] * 60 + [1] * 30 + [2] * 10 + [3] * 25)
    weights = balanced_class_weights(y, 3)
    assert sorted(weights) == [0, 1, 2, 3] and weights[3] == 1.0
    assert np.allclose([weights[c] * (y == c).sum() for c in range(3)], 100 / 3)


def test_threshold_for_sensitivity_is_the_highest_that_reaches_the_target():
    from training.evaluate import tumor_detection_metrics
    from training.operating_points.thresholds import threshold_for_sensitivity

    tumor_p = np.linspace(0.01, 1.0, 100)
    is_tumor = np.ones(100, bool)
    threshold = threshold_for_sensitivity(tumor_p, is_tumor, 0.97)
    assert tumor_detection_metrics(tumor_p, is_tumor, threshold)["tumor_sensitivity"] >= 0.97
    assert (tumor_p >= np.nextafter(threshold, 1.0)).mean() < 0.97  # any higher threshold misses the target
    with pytest.raises(ValueError, match="No tumour"):
        threshold_for_sensitivity(tumor_p, ~is_tumor, 0.97)


def test_winner_is_best_validation_f1_then_smallest():
    from training.evaluate import pick_winner

    a = {"model": "a", "validation_macro_f1": 0.90, "file_bytes": 10, "cpu_ms_per_image": 1}
    b = {"model": "b", "validation_macro_f1": 0.95, "file_bytes": 900, "cpu_ms_per_image": 1}
    c = {"model": "c", "validation_macro_f1": 0.948, "file_bytes": 100, "cpu_ms_per_image": 5}
    assert pick_winner([a, b, c])["model"] == "c"
    assert pick_winner([a, b])["model"] == "b"
