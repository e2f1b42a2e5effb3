"""Fixtures of the real-browser tests: one JupyterLab (and, when asked for, one Jupyter
Notebook 7) per pytest session, serving temporary copies of the notebooks; one headless
Chromium per session, a fresh browser context per test. All three are closed right after
the last browser test.

Without Chromium (or Playwright) these tests skip locally, and FAIL when $CI is set."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from _harness import (ARTIFACTS, CHROMIUM_ARGS, METRICS, ROOT, JupyterServer, NotebookPage,
                      chromium_executable)
import _notebooks


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_browser_test(item):
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    if METRICS:
        terminalreporter.section("poolbars browser metrics (test-artifacts/browser-metrics.json)")
        for name, values in METRICS.items():
            terminalreporter.write_line(f"{name}: {json.dumps(values, sort_keys=True)}")


def _missing(reason: str):
    """Skip locally; in CI a browser test that cannot run is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# The browser and the servers are shared by every browser test, and closed as soon as the
# last browser test of a run is over (not at the end of the session), so the rest of the
# suite runs without a Chromium, a Playwright driver and Jupyter servers beside it.
_shared: dict = {}  # name -> (value, close)


def _get(name: str, start):
    if name not in _shared:
        _shared[name] = start()
    return _shared[name][0]


def _close_shared() -> None:
    while _shared:
        _, (_, close) = _shared.popitem()  # last started, first closed
        close()


def _is_browser_test(item) -> bool:
    return "tests/browser/" in str(item.fspath).replace(os.sep, "/")


@pytest.hookimpl(trylast=True)  # after the test's own fixtures (pages, contexts) are gone
def pytest_runtest_teardown(item, nextitem):
    if _shared and (nextitem is None or not _is_browser_test(nextitem)):
        _close_shared()


def pytest_sessionfinish(session):
    _close_shared()


def _start_browser():
    executable = chromium_executable()
    if executable is None:
        _missing("Chromium not found at /usr/bin/chromium (or $POOLBARS_CHROMIUM); "
                 "install it with `apt-get install -y chromium fonts-dejavu-core`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: pip install -e '.[test]'")
    playwright = sync_playwright().start()
    try:
        b = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                       headless=True)
    except BaseException:
        playwright.stop()
        raise

    def close():
        try:
            b.close()
        finally:
            playwright.stop()
    return b, close


@pytest.fixture
def browser():
    return _get("browser", _start_browser)


def _start_server(app: str, tmp_path_factory, populate):
    try:
        __import__(app)
    except ImportError:
        _missing(f"{app} is not installed: pip install -e '.[test]'")
    home = tmp_path_factory.mktemp(f"{app}-home")
    root = tmp_path_factory.mktemp(f"{app}-root")
    populate(root)
    server = JupyterServer(app, root, home)
    return server, server.stop


@pytest.fixture
def lab_server(browser, tmp_path_factory):
    """One JupyterLab for all the tests, serving the notebooks of _notebooks.py."""
    return _get("jupyterlab", lambda: _start_server("jupyterlab", tmp_path_factory,
                                                    _notebooks.write_all))


@pytest.fixture
def nb7_server(browser, tmp_path_factory):
    """One Jupyter Notebook 7, serving a copy of notebooks/quickstart.ipynb."""
    def populate(root):
        shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", root / "quickstart.ipynb")
    return _get("notebook", lambda: _start_server("notebook", tmp_path_factory, populate))


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

    def open_(name: str, setup=None) -> NotebookPage:
        nbp = NotebookPage(context.new_page(), lab_server, name, setup)
        pages.append(nbp)
        return nbp

    yield open_
    for nbp in pages:
        nbp.page.close()
    lab_server.shutdown_kernels()
