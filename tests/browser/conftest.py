"""Fixtures of the real-browser tests: one JupyterLab (and, when asked for, one Jupyter
Notebook 7) per pytest session, serving temporary copies of the notebooks; one headless
Chromium per session, a fresh browser context per test.

Without Chromium (or Playwright) these tests skip locally, and FAIL when $CI is set."""

from __future__ import annotations

import os
import shutil

import pytest

from _harness import ARTIFACTS, CHROMIUM_ARGS, ROOT, JupyterServer, NotebookPage, chromium_executable
import _notebooks


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _missing(reason: str):
    """Skip locally; in CI a browser test that cannot run is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    executable = chromium_executable()
    if executable is None:
        _missing("Chromium not found at /usr/bin/chromium (or $POOLBARS_CHROMIUM); "
                 "install it with `apt-get install -y chromium fonts-dejavu-core`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _server(app: str, tmp_path_factory, populate, settings=None):
    try:
        __import__({"jupyterlab": "jupyterlab", "notebook": "notebook"}[app])
    except ImportError:
        _missing(f"{app} is not installed: pip install -e '.[test]'")
    home = tmp_path_factory.mktemp(f"{app}-home")
    root = tmp_path_factory.mktemp(f"{app}-root")
    populate(root)
    server = JupyterServer(app, root, home, settings)
    return server


@pytest.fixture(scope="session")
def lab_server(browser, tmp_path_factory):
    server = _server("jupyterlab", tmp_path_factory, _notebooks.write_all)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nb7_server(browser, tmp_path_factory):
    def populate(root):
        shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", root / "quickstart.ipynb")
    server = _server("notebook", tmp_path_factory, populate)
    yield server
    server.stop()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def open_lab(context, lab_server):
    """open_lab("live.ipynb") -> NotebookPage in JupyterLab. Its kernel is shut down after
    the test, so kernels never pile up on the machine."""
    pages = []

    def open_(name: str) -> NotebookPage:
        nbp = NotebookPage(context.new_page(), lab_server, name)
        pages.append(nbp)
        return nbp

    yield open_
    for nbp in pages:
        nbp.page.close()
    lab_server.shutdown_kernels()
