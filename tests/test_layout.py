"""The code's shape, read from its own imports: no import cycle, commands on top of a library that
never imports them, no private name used outside its module, TensorFlow started only after a
command has read its flags, and nothing that edits sys.path."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"mri": REPO / "mri", "training": REPO / "training", "convert": REPO / "convert",
            "mri_site": REPO / "site" / "mri_site"}
SCRIPTS = {"bench": REPO / "bench", "tests": REPO / "tests", "testbed": REPO / "testbed"}
# `python -m <command>`: each only parses its flags and calls the library below it.
COMMANDS = {"training.train", "training.compare", "training.loco.__main__", "training.operating_points.__main__",
            "training.sequence_probe.__main__", "training.explain.__main__", "training.volume_report.__main__",
            "training.model_card", "training.interpolate.__main__", "convert.__main__", "convert.report"}
HEAVY = ("tensorflow", "keras", "matplotlib", "sklearn")


def module_files() -> dict[str, Path]:
    modules = {}
    for prefix, folder in {**PACKAGES, **SCRIPTS}.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [prefix, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def imports_of(name: str, path: Path) -> list[tuple[str, list[str], ast.AST]]:
    """(imported module, names taken from it, node) for every import of a file, nested ones too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names], node))
    return found


def project_targets(module: str, names: list[str]) -> set[str]:
    """The project modules an import statement loads: `from a import b` loads a.b when that is a module."""
    targets = {f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES}
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return targets | ({module} if module else set())


def graph() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        edges[name] = set()
        for module, names, _ in imports_of(name, path):
            edges[name] |= project_targets(module, names) - {name}
    return edges


def test_no_import_cycle():
    edges, state, cycles = graph(), {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            # A package's __init__ is run before its modules; importing it from inside is no loop.
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


# Which project packages each may import: the shared core nothing, the server only the core.
MAY_IMPORT = {"mri": {"mri"}, "mri_site": {"mri", "mri_site"}, "training": {"mri", "training"},
              "convert": {"mri", "convert"}}


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_stage_imports_only_the_core_and_itself(package):
    wrong = [f"{name} imports {target}" for name, targets in graph().items()
             if name.split(".")[0] == package for target in targets
             if target.split(".")[0] not in MAY_IMPORT[package]]
    assert not wrong


def test_the_library_never_imports_a_command():
    wrong = [f"{name} imports {target}" for name, targets in graph().items() for target in targets
             if target in COMMANDS and not name.startswith(("tests", "bench")) and name not in COMMANDS]
    assert not wrong


def test_no_private_name_is_used_outside_its_module():
    wrong = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        project_aliases = set()
        for module, names, node in imports_of(name, path):
            if not project_targets(module, names):
                continue
            for alias in node.names:
                if alias.name.split(".")[-1].startswith("_") and not alias.name.endswith("__"):
                    wrong.append(f"{path.relative_to(REPO)}:{node.lineno} imports {alias.name}")
                if f"{module}.{alias.name}" in MODULES or isinstance(node, ast.Import):
                    project_aliases.add(alias.asname or alias.name.split(".")[0])
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in project_aliases
                    and node.attr.startswith("_") and not node.attr.endswith("__")):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong


def test_heavy_libraries_are_imported_at_the_top_of_the_library():
    """A function-level import of TensorFlow hides a dependency; the commands' main() defers the
    whole library instead, so each file says at its top what it needs."""
    wrong = []
    for name, path in MODULES.items():
        if name.startswith(("tests", "bench")):
            continue
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                    lazy_library = name in COMMANDS and function.name != "main" and module.startswith(tuple(PACKAGES))
                    if (module or "").split(".")[0] in HEAVY or lazy_library:
                        wrong.append(f"{path.relative_to(REPO)}:{node.lineno} {function.name}() imports {module}")
    assert not wrong


@pytest.mark.parametrize("command", sorted(c for c in COMMANDS if c.startswith("training")))
def test_a_command_reads_its_flags_before_starting_tensorflow(command):
    code = f"import sys, {command}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_nothing_edits_sys_path_or_pythonpath():
    files = [*MODULES.values(), REPO / "site" / "manage.py", REPO / "site" / "gunicorn.conf.py", REPO / "Makefile"]
    wrong = [str(f.relative_to(REPO)) for f in files
             if f != Path(__file__) and ("sys.path" in f.read_text() or "PYTHONPATH" in f.read_text())]
    assert not wrong


def test_no_file_points_outside_the_repository():
    """Every explanation lives in the repository (docs/, README.md, reports/): none in a design
    document or an issue text a reader does not have."""
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    wrong = []
    for relative in tracked:
        path = REPO / relative
        if path.suffix not in {".py", ".js", ".mjs", ".md", ".html", ".css", ".toml", ""} or path == Path(__file__):
            continue
        if not path.is_file() or relative.startswith("reports/"):
            continue
        text = path.read_text(errors="replace").lower()
        for needle in ("design.md", "style.md", "shared/design", "the issue"):
            if needle in text:
                wrong.append(f"{relative}: {needle}")
    assert not wrong


def test_the_shipped_model_still_loads_with_its_registered_layers():
    """Renaming a registered layer (or its package, "mri") would break every saved model."""
    from mri.contract import read_metadata
    from mri.layers import load_model

    metadata = read_metadata(REPO / "frontend" / "model" / "metadata.json")
    model = load_model(str(REPO / "frontend" / "model" / "model.h5"))
    assert tuple(model.input_shape) == (None, metadata.height, metadata.width, metadata.channels)
    assert tuple(model.output_shape) == (None, len(metadata.labels))
    assert {"CropToBrain", "PerImageStandardization"} <= {type(layer).__name__ for layer in model.layers}


def test_environment_is_not_needed_to_find_the_packages():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "import mri.contract, convert, mri_site; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr


def test_no_module_is_over_300_lines_and_the_readme_over_250():
    sources = [p for p in MODULES.values() if "tests" not in p.relative_to(REPO).parts[:1]]
    front = REPO / "frontend"
    sources += [*(front / "js").rglob("*.js"), front / "sw.js", *(REPO / "scripts").glob("*.mjs")]
    long = {str(p.relative_to(REPO)): n for p in sources if (n := len(p.read_text().splitlines())) > 300}
    assert not long, f"split these modules (at most 300 lines each): {long}"
    assert len((REPO / "README.md").read_text().splitlines()) <= 250
