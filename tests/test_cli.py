"""The command line as users expect: subcommands (`run` the default), flags before the
command, `validate` printing every error at once, `diff`, `schema`, the console script."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "examples" / "tiny.yaml"


def cli(*args, exe=(sys.executable, "-m", "sim")):
    return subprocess.run([*exe, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_help_lists_the_commands_and_names_the_console_script():
    proc = cli("--help")
    assert proc.returncode == 0
    for command in ("run", "size", "fit", "pack", "validate", "diff", "schema"):
        assert f"    {command} " in proc.stdout, command
    script = Path(sys.executable).with_name("fleetsim")
    if not script.exists():
        pytest.skip("the fleetsim console script is not installed in this environment")
    own = cli("--help", exe=(str(script),))
    assert own.returncode == 0 and own.stdout.startswith("usage: fleetsim")


def test_flags_may_come_before_the_command(tmp_path):
    proc = cli("--quiet", "size", TINY, "--target", "sla_attainment>=0.5", "--vary", "deployments[0].nodes",
               "--replicas", "2", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tiny-sizing" / "sizing.json").is_file() and proc.stdout == ""
    run = cli("--replicas", "1", "--quiet", TINY, "--out", tmp_path)   # `run` is the default command
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "tiny" / "summary.json").is_file()


def test_validate_prints_every_error_at_once_and_writes_nothing(tmp_path):
    text = TINY.read_text().replace("pue: 1.3", "pue: 0.9").replace("critical_it_mw: 1.0", "critical_it_mw: -1")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("seed: 7", "seed: 7\nreplica: 2"))
    proc = cli("validate", bad)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 3, proc.stderr
    assert "sites[0].critical_it_mw" in lines[0] and "greater than or equal to 0" in lines[0]
    assert "sites[0].pue" in lines[1] and "greater than or equal to 1" in lines[1] and "SeasonalPue" not in lines[1]
    assert "replica: unknown key (did you mean 'replicas'?)" in lines[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]
    ok = cli("validate", ROOT / "configs" / "merged.yaml")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ") and "standalone.yaml" in ok.stdout


def test_diff_prints_the_resolved_differences_by_yaml_path():
    proc = cli("diff", ROOT / "configs" / "standalone.yaml", ROOT / "configs" / "merged.yaml")
    assert proc.returncode == 0, proc.stderr
    assert 'scenario: "standalone" -> "merged"' in proc.stdout
    assert 'scheduler.scope: "per_company" -> "pooled"' in proc.stdout
    same = cli("diff", TINY, TINY)
    assert same.returncode == 0 and same.stdout.startswith("no differences")


def test_schema_is_json_schema_of_a_scenario():
    proc = cli("schema")
    schema = json.loads(proc.stdout)
    assert proc.returncode == 0 and schema["title"] == "Scenario"
    assert {"scenario", "start", "horizon", "sites", "warmup"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False   # unknown keys are errors, as in a run


def test_warnings_go_to_stderr_and_the_table_to_stdout(tmp_path):
    """Demand beyond capacity is said on stderr, so a script reading the table sees only it."""
    busy = tmp_path / "busy.yaml"
    busy.write_text(TINY.read_text().replace("arrival_rate_per_h: 2.0", "arrival_rate_per_h: 60.0"))
    proc = cli(busy, "--replicas", "1", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "warning: " in proc.stderr and "demand exceeds capacity" in proc.stderr
    assert "warning: " not in proc.stdout and "gpu_utilization" in proc.stdout


INTERRUPT_AT = """
import builtins, sys
real = builtins.__import__
def interrupting(name, *args, **kwargs):
    if name == {target!r} or name.endswith({target!r}):
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = interrupting
from sim.__main__ import entry
sys.argv = ["sim", {config!r}, "--out", {out!r}, "--quiet"]
sys.exit(entry())
"""


@pytest.mark.parametrize("target", ["cli", "experiment.runner"])
def test_an_interrupt_while_the_layers_load_is_one_line_and_exit_130(tmp_path, target):
    """Ctrl-C as the command's modules are imported (before any handler of a command), made
    deterministic by an import that raises it: one line on stderr, exit 130, nothing written."""
    code = INTERRUPT_AT.format(target=target, config=str(TINY), out=str(tmp_path / "out"))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "interrupted: no results written\n"
    assert not (tmp_path / "out").exists()
