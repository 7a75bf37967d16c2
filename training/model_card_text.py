"""The model card's Markdown, written from its sources (training.model_card reads them): the shipped
model's metadata.json and the committed reports' JSON, each figure beside the project's target
for it where there is one.
"""
from __future__ import annotations

from pathlib import Path

# The project's targets for the shipped model: the card says which are met.
TARGETS = {"accuracy": 0.95, "macro_f1": 0.95, "sequence_sensitivity": 0.95, "unseen_sensitivity": 0.90,
           "unseen_specificity": 0.90, "held_out_sensitivity": 0.80, "held_out_specificity": 0.90,
           "held_out_auc": 0.90}
SEQUENCES = {"flair": "FLAIR", "t1": "T1", "t1ce": "T1 with contrast", "t2": "T2"}


def share(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def auc(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def whole(n) -> str:
    return f"{n:,}"


def at_least(value, target, as_share=True, each="") -> str:
    """'≥ 95 % (missed)': the target and whether `value` (one figure or several) reaches it."""
    values = value if isinstance(value, (list, tuple)) else [value]
    met = [v is not None and v >= target for v in values]
    verdict = "met" if all(met) else "missed" if not any(met) else f"met by {sum(met)} of {len(met)}"
    return f"≥ {f'{100 * target:g} %' if as_share else f'{target:g}'}{each} ({verdict})"


def facts(meta: dict, final: dict) -> list[str]:
    training, settings, tfjs = meta["training"], meta["training"]["settings"], meta["tfjs"]
    inputs, labels = meta["input"], meta["labels"]
    split = {name: sum(counts.values()) for name, counts in training["split"].items()}
    start = "from an earlier model's weights (`--init-from`)" if settings.get("init_from") else "from random weights"
    weights = "float32" if tfjs.get("quantization", "none") == "none" else tfjs["quantization"]
    return [
        "| | |",
        "| --- | --- |",
        f"| model | `{meta['architecture']}`: {whole(final['parameters'])} parameters; `model.h5` "
        f"{tfjs['source']['bytes'] / 1e6:.2f} MB, TF.js {weights} {tfjs['total_bytes'] / 1024:.0f} KiB |",
        f"| input | one {inputs['height']}×{inputs['width']} "
        f"{'grayscale' if inputs['channels'] == 1 else 'colour'} slice, "
        f"raw {inputs['range'][0]}–{inputs['range'][1]} pixels, resized {inputs['resize']} |",
        f"| output | probabilities of {', '.join(f'`{label}`' for label in labels)}; tumour probability = "
        f"1 − p(`{meta['no_tumor_label']}`) |",
        f"| trained on | {len(training['data'])} collections merged by class: "
        f"{', '.join(f'`{Path(d).name}`' for d in training['data'])}; "
        f"{whole(sum(training['class_counts'].values()))} images "
        f"({', '.join(f'{k} {whole(v)}' for k, v in training['class_counts'].items())}) in {whole(training['groups'])} "
        f"groups (near-duplicates, patients, subjects), split by group: {whole(split['train'])} training / "
        f"{whole(split['validation'])} validation / {whole(split['test'])} test |",
        f"| split rule | {training['split_rule']} |",
        f"| last training run | {training['epochs_run']} epochs {start}, learning rate {settings['learning_rate']:g}, "
        f"batch {settings['batch_size']}, intensity augmentation `{settings['intensity']}`, skull augmentation "
        f"{'on' if settings['skull'] else 'off'}, sampling `{settings['sampling']}`, seed {settings['seed']}; "
        f"{training['seconds'] / 60:.1f} min, {training['date'][:10]} |",
        f"| augmentation | {training['augmentation']} |",
        f"| chosen by | validation macro-F1 {auc(meta['metrics']['validation_macro_f1'])} |",
    ]


def held_out(meta: dict, loco: dict) -> list[str]:
    test, tfjs_check = meta["metrics"]["test"], meta["tfjs"]["verification"]
    order = [Path(d).name for d in meta["training"]["data"]]
    collections = sorted(test["per_collection"].items(),
                         key=lambda item: order.index(item[0]) if item[0] in order else 99)
    sequences = [(SEQUENCES[k], test["per_sequence"][k]) for k in SEQUENCES if k in test.get("per_sequence", {})]
    rows = [
        "| | shipped | target |",
        "| --- | ---: | ---: |",
        f"| test accuracy (4 classes, {whole(test['n'])} images) | **{share(test['accuracy'])}** | "
        f"{at_least(test['accuracy'], TARGETS['accuracy'])} |",
        f"| test macro-F1 | **{auc(test['macro_f1'])}** | {at_least(test['macro_f1'], TARGETS['macro_f1'], False)} |",
        f"| tumour sensitivity / specificity, test ({whole(test['tumor_images'])} tumour / "
        f"{whole(test['no_tumor_images'])} normal) | **{share(test['tumor_sensitivity'])} / "
        f"{share(test['tumor_specificity'])}** (ROC AUC {auc(test['tumor_roc_auc'])}) | |",
    ]
    if sequences:
        each_at_least = at_least([s["tumor_sensitivity"] for _, s in sequences], TARGETS["sequence_sensitivity"],
                                 each=" each")
        rows.append(f"| tumour sensitivity per sequence, test: {' / '.join(name for name, _ in sequences)} | "
                    f"{' / '.join(share(s['tumor_sensitivity']) for _, s in sequences)} (ROC AUC "
                    f"{' / '.join(auc(s['tumor_roc_auc']) for _, s in sequences)}) | "
                    f"{each_at_least} |")
    normal_only = [(name, c) for name, c in collections if not c["tumor_images"]]
    for name, c in collections:
        if c["tumor_images"]:
            rows.append(f"| {name}, test ({whole(c['tumor_images'])} tumour / {whole(c['no_tumor_images'])} normal): "
                        f"sensitivity / specificity | {share(c['tumor_sensitivity'])} / "
                        f"{share(c['tumor_specificity'])} | |")
    if normal_only:
        names = " / ".join(f"{name} ({whole(c['no_tumor_images'])} normal)" for name, c in normal_only)
        specificities = " / ".join(share(c["tumor_specificity"]) for _, c in normal_only)
        rows.append(f"| {names}, test: specificity | {specificities} | |")
    rows += [
        f"| F1 per class, test: {' / '.join(test['per_class'])} | "
        f"{' / '.join(auc(m['f1']) for m in test['per_class'].values())} | |",
        f"| expected calibration error, test | {auc(test['ece'])} | |",
    ]
    for unseen in meta["metrics"].get("external", []):
        rows.append(f"| **unseen collection** {Path(unseen['data']).name} ({whole(unseen['tumor_images'])} tumour / "
                    f"{whole(unseen['no_tumor_images'])} normal): sensitivity / specificity | "
                    f"**{share(unseen['tumor_sensitivity'])} / {share(unseen['tumor_specificity'])}** (ROC AUC "
                    f"{auc(unseen['tumor_roc_auc'])}) | "
                    f"{at_least(unseen['tumor_sensitivity'], TARGETS['unseen_sensitivity'])}"
                    f" / {at_least(unseen['tumor_specificity'], TARGETS['unseen_specificity'])} |")
        twins = unseen.get("without_twins")
        if twins:
            rows.append(f"| the same without its {unseen['near_twins_in_training']} images that have a near-twin in "
                        f"the training data | {share(twins['tumor_sensitivity'])} / "
                        f"{share(twins['tumor_specificity'])} | |")
    rows += loco_rows(loco)
    rows.append(f"| TF.js against Keras (`python -m convert`, {tfjs_check['inputs']} inputs, "
                f"{tfjs_check['real_images']} "
                f"of them real slices): largest probability difference | {tfjs_check['max_abs_diff']:.1e}, "
                f"same top class "
                f"on {share(tfjs_check['top1_agreement'])} | ≤ {tfjs_check['limits']['max_prob_diff']:g} "
                f"({'met' if tfjs_check['max_abs_diff'] <= tfjs_check['limits']['max_prob_diff'] else 'missed'}) |")
    return rows


def loco_rows(loco: dict) -> list[str]:
    settings, folds = loco["settings"], loco["folds"]
    both = [f for f in folds if f["tumor_images"]]
    normal = [f for f in folds if not f["tumor_images"]]
    title = ("**what to expect on scans from a hospital this model never saw**: leave one collection out "
             f"(`reports/loco-shipped-length.md`: {settings['epochs']}-epoch folds over {len(settings['data'])} "
             "collections, each judged on every image of the collection it never saw; "
             f"{len(folds)} of {len(settings.get('hold_out') or settings['data'])} folds finished): "
             "sensitivity / specificity")
    rows = []
    for i, fold in enumerate(both):
        met = (fold["tumor_sensitivity"] >= TARGETS["held_out_sensitivity"]
               and fold["tumor_specificity"] >= TARGETS["held_out_specificity"]
               and (fold["tumor_roc_auc"] or 0) >= TARGETS["held_out_auc"])
        target = (f"≥ {100 * TARGETS['held_out_sensitivity']:g} % / ≥ {100 * TARGETS['held_out_specificity']:g} %, "
                  f"AUC ≥ {TARGETS['held_out_auc']:g} ({'met' if met else 'missed'})")
        rows.append(f"| {title + ', ' if i == 0 else ''}{fold['held_out']} held out | "
                    f"{share(fold['tumor_sensitivity'])} / "
                    f"{share(fold['tumor_specificity'])} (ROC AUC {auc(fold['tumor_roc_auc'])}) | {target} |")
    if normal:
        rows.append(f"| the same, normal-only collections: {' / '.join(f['held_out'] for f in normal)}: specificity | "
                    f"{' / '.join(share(f['tumor_specificity']) for f in normal)} | "
                    f"{at_least([f['tumor_specificity'] for f in normal], TARGETS['held_out_specificity'])} |")
    return rows


def comparison(meta: dict, compared: dict) -> str:
    ranked = sorted(compared["results"], key=lambda r: -r["validation_macro_f1"])
    minutes = [r["train_seconds"] / 60 for r in ranked]
    winner = compared["winner"]
    shipped = meta["architecture"]
    return (f"**The registered models compared** (`reports/comparison.md`: the same split, {min(minutes):.1f}–"
            f"{max(minutes):.1f} min of training each), by validation macro-F1: "
            f"{', '.join(r['model'] + ' ' + auc(r['validation_macro_f1']) for r in ranked)} (test accuracy "
            f"{', '.join(share(r['test']['accuracy']) for r in ranked)}). The winner is `{winner}`"
            + (f"; the shipped `{shipped}` is the same architecture, trained far longer." if winner == shipped
               else f"; the shipped model is `{shipped}`.")
            )


def thresholds(meta: dict, points: dict) -> str:
    decision = meta["decision"]
    chosen = min(points["thresholds"], key=lambda row: abs(row["threshold"] - points["chosen_threshold"]))
    sets = [key for key in chosen if key not in ("threshold", "note")]
    at_chosen = "; ".join(f"{share(chosen[s]['sensitivity'])} / {share(chosen[s]['specificity'])} on {s}" for s in sets)
    levels = points["levels"]
    band = "; ".join(f"on {s} it holds {levels[s]['missed_in_band']} of the {levels[s]['missed']} tumours "
                     f"{decision['tumor_threshold']:g} misses and flags {levels[s]['normal_in_band']} of "
                     f"{levels[s]['normal']} normal scans ({share(levels[s]['normal_in_band'] / levels[s]['normal'])})"
                     for s in levels if s != "validation")
    return (f"**Thresholds** (`reports/operating-points.md`): the page calls a tumour likely at "
            f"{decision['tumor_threshold']:g}. The threshold that reaches {share(points['target_sensitivity'])} "
            f"sensitivity on validation ({points['chosen_threshold']:.3f}) gives sensitivity / specificity "
            f"{at_chosen}. The page's middle level, \"Possible tumour: look closely\", starts at "
            f"{decision['possible_threshold']:.3f} ({decision['possible_rule']}): {band}.")


def probe(probed: dict, meta: dict) -> str:
    as_is = probed["probe"]["as is"]
    lines = []
    for change, collections in probed["probe"].items():
        if change == "as is":
            continue
        found = ", ".join(f"{name} {share(c['tumor_sensitivity'])} ({share(as_is[name]['tumor_sensitivity'])} as is)"
                          for name, c in collections.items() if c["tumor_images"])
        lines.append(f"{change}: {found}")
    return ("**Sequence probe** (`reports/sequence-probe.md`: the test subset with only its grey levels changed), "
            "tumours found: " + "; ".join(lines) + ".")


def render_card(sources: dict) -> str:
    """The card's Markdown, without its markers."""
    meta = sources["metadata"]
    final = sources["final"]["results"][0]
    return "\n".join([
        *facts(meta, final),
        "",
        "**Held-out figures** (`reports/final-model.md`: the test subset, which no decision looked at, and the "
        f"unseen collection, which training never saw; a tumour at probability ≥ "
        f"{meta['decision']['tumor_threshold']:g}):",
        "",
        *held_out(meta, sources["loco"]),
        "",
        comparison(meta, sources["comparison"]),
        "",
        thresholds(meta, sources["points"]),
        "",
        probe(sources["probe"], meta),
    ])

