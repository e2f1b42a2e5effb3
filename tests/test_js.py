"""The front end's own unit tests (node's test runner + happy-dom), run as part of pytest."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_js_unit_tests_pass():
    npm = shutil.which("npm")
    assert npm, "npm is needed to run the front end's tests (and to build it): install Node.js"
    if not (ROOT / "node_modules" / "happy-dom").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, timeout=600)
    run = subprocess.run([npm, "test", "--silent"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    tests = int(re.search(r"^# tests (\d+)", report, re.M).group(1))
    assert tests > 0 and re.search(r"^# fail 0$", report, re.M), report


def test_bundle_is_built_and_small():
    static = ROOT / "src" / "poolbars" / "static"
    bundle, css = static / "widget.js", static / "widget.css"
    assert bundle.exists() and css.exists(), "run `npm run build` (pip install -e . does it)"
    # anywidget stores the bundle in every saved notebook model: keep it small
    assert bundle.stat().st_size < 60_000
    assert "innerHTML" not in bundle.read_text()
