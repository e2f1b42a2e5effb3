"""ProgressPanel: the anywidget wire model. Synced traits only: one per key of
`snapshot.Snapshot`, typed there and described in docs/snapshot.md. The user-facing API
is `Pool` and `track()`, not this class."""

from __future__ import annotations

import pathlib
import typing

import anywidget
import traitlets as t

from .panel.snapshot import SNAPSHOT_KEYS, PanelStatus, Snapshot
from .views import text

_STATIC = pathlib.Path(__file__).parent / "static"
_BUNDLE_MISSING = (
    "poolbars: the front-end bundle src/poolbars/static/widget.js is missing. "
    "It is built from js/ on install: run `pip install -e .` (needs node and npm), "
    "or `npm install && npm run build` in the checkout."
)


def _asset(name: str, fallback: str):
    path = _STATIC / name
    return path if path.exists() else fallback


class ProgressPanel(anywidget.AnyWidget):
    """The live panel widget: an overall bar, a lane per worker, counts, failures.

    What `display="widget"` (or `"auto"` in a Jupyter kernel) shows for a `Pool` or a
    `Panel`: an anywidget whose synced traits are the keys of the panel's snapshot,
    drawn by the bundled front end (its Stop button drains a `map_async`). You rarely
    make one yourself; do so to show a snapshot again (`apply`), e.g. one kept from an
    earlier run. Without a front end (a plain terminal, a notebook saved without
    widget state) it shows as text and static HTML of the same state.

    Args:
        **kwargs: Initial trait values, by name (`title=...`, `status=...`, …), and
            anywidget's own options.

    Raises:
        traitlets.TraitError: A trait value of the wrong type, or a `status` that is
            not `"running"`, `"done"`, `"failed"` or `"cancelled"`.

    Example:
        ```python
        import poolbars as pb

        with pb.Pool(2, display=None) as pool:  # no view: only the state is kept
            pool.map(abs, [-1, -2])
        panel = pb.ProgressPanel(title="A finished run")
        panel.apply(pool.snapshot())  # in a notebook, the panel shows it
        print(panel.status, panel.overall["done"])  # done 2
        ```
    """

    _esm = _asset("widget.js", "export default { render({ el }) { el.textContent = %r; } };"
                  % _BUNDLE_MISSING)
    _css = _asset("widget.css", "")

    title = t.Unicode("").tag(sync=True)
    """The panel's title.

    - Type: `str`
    - Default: `""`
    """

    status = t.Enum(typing.get_args(PanelStatus), "running").tag(sync=True)
    """The run's overall status: `running`, `done`, `failed` or `cancelled`.

    - Type: `str`
    - Default: `"running"`
    """

    overall = t.Dict().tag(sync=True)
    """Counts and timing of the whole run (`done`, `failed`, …, `rate`, `eta`, `spark`).

    - Type: `dict`, a `snapshot.Overall`
    - Default: `{}`
    """

    lanes = t.List(t.Dict()).tag(sync=True)
    """One dict per visible lane (a worker, or a bar of its own), keyed by its `key`.

    - Type: `list[dict]`, each a `snapshot.Lane`
    - Default: `[]`
    """

    more_lanes = t.Int(0).tag(sync=True)
    """How many lanes exist beyond those in `lanes` (capped to keep updates small).

    - Type: `int`
    - Default: `0`
    """

    failures = t.List(t.Dict()).tag(sync=True)
    """The first failures, oldest first: of items, and of workers' own setup or teardown.

    - Type: `list[dict]`, each a `snapshot.Failure`
    - Default: `[]`
    """

    more_failures = t.Int(0).tag(sync=True)
    """How many failures exist beyond those in `failures`.

    - Type: `int`
    - Default: `0`
    """

    failure_groups = t.List(t.Dict()).tag(sync=True)
    """Every item failure, grouped by kind and message shape, by smallest item index.

    - Type: `list[dict]`, each a `snapshot.FailureGroup`
    - Default: `[]`
    """

    stoppable = t.Bool(False).tag(sync=True)
    """Whether the Stop button may be used (a background run: `map_async`).

    - Type: `bool`
    - Default: `False`
    """

    stopping = t.Bool(False).tag(sync=True)
    """Whether Stop was pressed and the run is draining (running items finish).

    - Type: `bool`
    - Default: `False`
    """

    timeline = t.Dict().tag(sync=True)
    """What ran where and when: blocks per lane, in seconds after `t0`.

    - Type: `dict`, a `snapshot.Timeline`
    - Default: `{}`
    """

    def __init__(self, **kwargs: typing.Any):
        super().__init__(**kwargs)
        self.on_stop = None  # called (no arguments) when the Stop button is pressed
        self.on_msg(self._message)

    def _message(self, widget, content, buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "stop" and self.on_stop:
            self.on_stop()

    def snapshot(self) -> Snapshot:
        """The panel's current state, in the shape the views share.

        Returns:
            A dict with one key per trait above.
        """
        return typing.cast(Snapshot, {name: getattr(self, name) for name in SNAPSHOT_KEYS})

    def apply(self, snapshot: Snapshot) -> None:
        """Set every trait from `snapshot` in one message (unchanged traits are not sent).

        Args:
            snapshot: A panel's snapshot, as `pool.snapshot()` or `panel.snapshot()`
                give it.

        Raises:
            KeyError: `snapshot` lacks one of the traits' keys.
            traitlets.TraitError: A value of the wrong type for its trait.
        """
        with self.hold_sync():
            for name in SNAPSHOT_KEYS:
                # name is one of the snapshot's keys
                setattr(self, name, snapshot[name])  # type: ignore[literal-required]
            if "timeline" in snapshot:
                self.timeline = snapshot["timeline"]  # type: ignore[assignment]  # a Dict trait

    def _repr_mimebundle_(self, **kwargs):
        # The fallbacks show the current state: what a saved notebook shows without JS.
        bundle = super()._repr_mimebundle_(**kwargs)
        data: typing.Any = bundle[0] if isinstance(bundle, tuple) else bundle
        snapshot = self.snapshot()
        data["text/plain"] = text.plain(snapshot)
        data["text/html"] = text.html(snapshot)
        return bundle

    def __repr__(self) -> str:
        return text.plain(self.snapshot())
