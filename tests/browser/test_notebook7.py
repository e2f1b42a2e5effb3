"""Smoke test in Jupyter Notebook 7: the quickstart runs, its panels appear and reach 100%."""

from __future__ import annotations

from _harness import NotebookPage, read_panel

CONVERT_CELL = 1  # `with pb.Pool(4, title="Convert") ...`


def test_quickstart_in_notebook_7(context, nb7_server, artifacts):
    nbp = NotebookPage(context.new_page(), nb7_server, "quickstart.ipynb")
    try:
        nbp.run_all()
        panel = nbp.panel(CONVERT_CELL)
        panel.wait_for(state="visible", timeout=60_000)
        nbp.wait_all_done(timeout=180)
        nbp.wait_status(CONVERT_CELL, "done")
        state = read_panel(panel)
        panel.screenshot(path=str(artifacts / "notebook7-quickstart.png"))
        assert state["title"] == "Convert", state
        assert state["percent"] == "100%" and state["count"] == "40/40 it", state
        assert state["overallWidth"] == "100%" and state["chips"]["done"] == "40", state
        assert len(state["lanes"]) == 4, state["lanes"]
        titles = nbp.page.locator(".poolbars-panel .pb-title").all_inner_texts()
        assert titles == ["Convert", "Squares", "Parse", "Parse, raising"], titles
        assert "(40, 'done')" in nbp.outputs_text()
        # Notebook 7.6 itself throws this while loading (with no settings at all, before any
        # cell runs): not ours. Anything else fails the test.
        errors = [e for e in nbp.page_errors
                  if not ("reading 'schema'" in e and "notebook_core" in e)]
        assert not nbp.dialogs and not errors, (nbp.dialogs, errors)
    finally:
        nbp.page.close()
        nb7_server.shutdown_kernels()
