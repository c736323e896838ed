"""The layout holds: imports only go down the layers (import-linter's contract in
pyproject.toml, and it fails on an upward import), no import cycles, modules of one concept."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(cwd / "pyproject.toml")], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_imports_only_go_down_the_layers():
    proc = lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The engine importing the output layer is refused (the contract is not vacuous)."""
    for name in ("sim", "kernels"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    fleet = tmp_path / "sim" / "engine" / "fleet.py"
    fleet.write_text(fleet.read_text() + "\nfrom ..output import plots  # noqa: E402,F401\n")
    proc = lint(tmp_path)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout and "sim.engine.fleet -> sim.output.plots" in proc.stdout, proc.stdout


def test_no_import_cycles():
    graph = grimp.build_graph("sim", "kernels", exclude_type_checking_imports=True)
    ours = sorted(m for m in graph.modules if m.split(".")[0] in ("sim", "kernels"))
    state: dict[str, int] = {}
    path: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other.split(".")[0] not in ("sim", "kernels"):
                continue
            if state.get(other) == 1:
                cycles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other)
        path.pop()
        state[module] = 2

    for module in ours:
        if module not in state:
            visit(module)
    assert not cycles, cycles


def test_modules_hold_one_concept():
    """No module over about 400 lines, except the schema (a schema reads best in one file)."""
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "sim").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 420 and p.name != "schema.py"}
    assert not long, long


def test_every_folder_says_what_it_holds_and_may_import():
    for init in (ROOT / "sim").rglob("__init__.py"):
        if init.parent == ROOT / "sim" or init.parent.name == "traces":
            continue
        text = init.read_text()
        assert text.startswith('"""') and "May import" in text, init


def test_the_replica_cache_hashes_every_source_file():
    """Moving code into folders must not hide it from the cache's code version."""
    from sim.experiment import cache
    assert (cache.ROOT / "sim" / "engine" / "model.py").is_file()
    assert (cache.ROOT / "kernels" / "occupancy.py").is_file()
