"""Builds the documentation site for the tests that read it (tests/test_docs_site.py, and
tests/browser/test_docs_pages.py, which opens it in Chromium)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_site(out: Path) -> Path:
    """`mkdocs build --strict` of the checkout into `out`: any warning fails the test."""
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    return out
