"""The benchmark harness runs (tiny sizes): a smoke test, never a timing assertion."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(300)
def test_the_benchmark_harness_runs_end_to_end():
    run = subprocess.run([sys.executable, "bench/run.py", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for section in ("### W1", "### W2", "### W3", "### Per-iteration cost",
                    "### The front end's traffic", "### Many failures", "### Scale", "### The targets of issue 5"):
        assert section in run.stdout
    assert "| poolbars Pool.map, log view |" in run.stdout


def test_the_fault_table_lists_every_fault_the_script_tries():
    """docs/faults.md is written by bench/faults.py: a fault added to the script and not
    measured into the table (or a row left over from a removed one) fails here."""
    import ast
    import re

    tree = ast.parse((ROOT / "bench" / "faults.py").read_text())
    faults = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                  and getattr(node.targets[0], "id", None) == "FAULTS")
    tried = [(row.elts[0].value, row.elts[1].value) for row in faults.elts]
    table = (ROOT / "docs" / "faults.md").read_text()
    rows = [line.split(" | ")[:2] for line in table.splitlines()
            if re.match(r"\| §\d", line)]
    assert [(section.lstrip("| "), fault) for section, fault in rows] == tried
    assert "NOT AS DOCUMENTED" not in table
