"""Types: the package passes mypy as pyproject.toml configures it ([tool.mypy]: the whole
package, Python 3.9 rules), its protocol and engine-support modules pass `mypy --strict`,
and it ships the py.typed marker that lets users' type checkers read its annotations.
`pytest` alone so checks the types: CI runs nothing else."""

import pathlib
import subprocess
import sys

import pytest

try:
    import tomllib
except ImportError:  # Python < 3.11: pytest itself depends on tomli there
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "poolbars"

pytestmark = pytest.mark.timeout(600)  # a cold run checks the imported libraries too


def mypy(*args: str) -> subprocess.CompletedProcess:
    # from the root, so that mypy reads pyproject.toml and checks this tree's src/
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=540)


def strict_modules() -> list[str]:
    """The modules pyproject.toml holds to strict rules (the override that sets them)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    return [module for override in config["overrides"]
            if override.get("disallow_untyped_defs") for module in override["module"]]


def test_the_package_passes_mypy():
    result = mypy()
    assert result.returncode == 0, f"mypy found type errors:\n{result.stdout}{result.stderr}"
    assert "Success: no issues found" in result.stdout


def test_the_protocol_and_engine_support_modules_pass_mypy_strict():
    modules = strict_modules()
    assert {"poolbars.protocol.kinds", "poolbars.engine.chunking", "poolbars.options",
            "poolbars.panel.snapshot",
            "poolbars.protocol.events", "poolbars.protocol.wire"} <= set(modules)
    files = [str(PACKAGE.parent / (module.replace(".", "/") + ".py")) for module in modules]
    # --strict itself, not the config's list of its flags: a flag a newer mypy adds counts
    result = mypy("--strict", "--follow-imports=silent", *files)
    assert result.returncode == 0, f"mypy --strict found errors:\n{result.stdout}{result.stderr}"


def test_the_package_ships_the_py_typed_marker():
    import poolbars

    marker = pathlib.Path(poolbars.__file__).parent / "py.typed"
    assert marker.is_file(), f"{marker} is missing: type checkers would ignore our types"
