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
                    "### The front end's traffic", "### Scale", "### The targets of issue 5"):
        assert section in run.stdout
    assert "| poolbars Pool.map, log view |" in run.stdout
