"""The snapshot is defined once, by the TypedDicts of poolbars.panel.snapshot, and everything
else that spells it out agrees: a real run's snapshots (recursively, keys and value
types), the widget's synced traits, the JSDoc typedefs of js/state.js and the tables of
docs/snapshot.md."""

import os
import pathlib
import re
import time
import typing

import pytest

import poolbars as pb
from poolbars.panel import snapshot as snap
from poolbars.views import text
from poolbars.widget import ProgressPanel

pytestmark = pytest.mark.timeout(120)

ROOT = pathlib.Path(__file__).resolve().parent.parent
TYPED_DICTS = (snap.Snapshot, snap.Overall, snap.Lane, snap.Failure, snap.FailureGroup, snap.Timeline,
               snap.TimelineLane)


# -- the runtime check: a value against a type of poolbars.panel.snapshot ---------------------

def problems(value, tp, path="snapshot") -> list:
    """Where `value` does not have type `tp`, as "path: what" strings (empty: it has)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if typing.is_typeddict(tp):
        return dict_problems(value, tp, path)
    if origin is typing.Union:
        found = [problems(value, arm, path) for arm in args]
        return [] if [] in found else [f"{path}: {value!r} is none of {args}"]
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, not a list"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{path}[{i}]")]
    if origin is tuple:  # a fixed-length list on the wire (JSON has no tuples)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            return [f"{path}: {value!r} is not a list of {len(args)}"]
        return [p for i, (item, arm) in enumerate(zip(value, args))
                for p in problems(item, arm, f"{path}[{i}]")]
    if tp is type(None):
        return [] if value is None else [f"{path}: {value!r} is not None"]
    if isinstance(value, bool) and tp is not bool:
        return [f"{path}: {value!r} is a bool, not {tp.__name__}"]
    return [] if isinstance(value, tp) else [f"{path}: {value!r} is not {tp.__name__}"]


def dict_problems(value, tp, path) -> list:
    if not isinstance(value, dict):
        return [f"{path}: {type(value).__name__}, not a dict ({tp.__name__})"]
    hints = typing.get_type_hints(tp)
    missing = tp.__required_keys__ - value.keys()
    extra = value.keys() - hints.keys()
    found = [f"{path}: {tp.__name__} lacks {sorted(missing)}"] if missing else []
    found += [f"{path}: {tp.__name__} has no key {sorted(extra)}"] if extra else []
    return found + [p for key in value.keys() & hints.keys()
                    for p in problems(value[key], hints[key], f"{path}.{key}")]


def test_the_check_catches_a_missing_key_a_stray_key_and_a_wrong_type():
    row = {"index": None, "label": "worker 1 (pid 9)", "kind": "setup", "error": "E",
           "traceback": "", "worker": "worker 1", "attempts": 1}
    assert problems(row, snap.Failure) == []
    assert problems(dict(row, kind="oops"), snap.Failure)  # not in the vocabulary
    assert problems(dict(row, attempts=True), snap.Failure)  # a bool is no count
    assert problems({k: v for k, v in row.items() if k != "error"}, snap.Failure)
    assert problems(dict(row, extra=1), snap.Failure)
    assert problems([[0.0, 1.0, "done", "3", ""]], list[snap.Block]) == []
    assert problems([[0.0, 1.0, "done", "3"]], list[snap.Block])


# -- (a) a real run's snapshots -----------------------------------------------------------

def pick_gpu(gpu):
    if gpu == 1:
        raise RuntimeError(f"gpu {gpu} is out of memory")


def work(x):
    if x == 3:
        raise ValueError("bad item")
    if x == 5:
        os._exit(1)  # a crash: the worker dies while running the item
    if x == 7:
        time.sleep(30)  # a timeout
    with pb.bar(total=3, desc="rows") as b:
        for _ in range(3):
            b.update(1)
            b.set_postfix(loss=0.5)
            pb.message("writing")
            time.sleep(0.02)
    return x


def real_run():
    """Every snapshot taken while a real pool ran items that succeed, fail, crash and time
    out on workers one of whose setup failed, beside a bar of the main process; then the
    final one, and the widget that showed the run."""
    seen = []
    with pb.Pool(3, display="widget", worker_args=[{"gpu": 0}, {"gpu": 1}, {"gpu": 2}],
                 initializer=pick_gpu, on_error="return", timeout=2.0) as pool:
        with pb.bar(total=2, desc="loading") as main_bar:
            main_bar.update(2)
        handle = pool.map_async(work, range(12))
        while not handle.done():
            seen.append(pool.snapshot())
            time.sleep(0.05)
        results = handle.result(timeout=60)
        seen.append(pool.snapshot())
        panel = pool._running.session.view.panel
    return results, seen, pool.snapshot(), panel


@pytest.fixture(scope="module")
def run():
    return real_run()


def test_every_snapshot_of_a_real_run_has_exactly_the_typed_keys_and_types(run):
    results, seen, final, _ = run
    assert isinstance(results[3], pb.Failure) and results[0] == 0
    for s in seen + [final]:
        assert problems(s, snap.Snapshot) == []
        for lane in s["lanes"]:  # an optional key is there only when it says something
            assert [k for k in snap.Lane.__optional_keys__
                    if k in lane and lane[k] == snap.LANE_DEFAULTS[k]] == []
    assert "timeline" not in final  # only the collector's pushes carry it
    # the run covered what the types allow
    kinds = {f["kind"] for f in final["failures"]}
    assert kinds == {"error", "crashed", "timeout", "setup"}
    assert any(f["index"] is None and f["worker"] == "worker 1" for f in final["failures"])
    states = {lane["state"] for s in seen for lane in s["lanes"]}
    assert {"busy", "setup failed"} <= states
    assert any(":" in lane["key"] for lane in final["lanes"])  # the main process's bar
    busy = [lane for s in seen for lane in s["lanes"] if lane["postfix"]]
    assert busy and busy[0]["postfix"] == [["loss", "0.5"]]
    assert {"failed", "rate"} <= {key for lane in final["lanes"] for key in lane}


def test_the_lanes_optional_keys_are_the_ones_with_defaults():
    assert set(snap.LANE_DEFAULTS) == snap.Lane.__optional_keys__
    assert all(problems(value, typing.get_type_hints(snap.Lane)[key]) == []
               for key, value in snap.LANE_DEFAULTS.items())


def test_the_widget_of_a_real_run_holds_a_typed_snapshot_and_timeline(run):
    _, _, final, panel = run
    shown = dict(panel.snapshot(), timeline=panel.timeline)
    assert problems(shown, snap.Snapshot) == []
    assert shown["timeline"]["lanes"] and shown["overall"]["done"] == final["overall"]["done"]


def test_the_timeline_block_statuses_are_the_timelines_own():
    from poolbars.panel.timeline import _WORST  # the statuses the timeline ranks
    assert set(_WORST) == set(snap.values(snap.BlockStatus))


# -- (b) the widget's traits ----------------------------------------------------------

TRAIT_FOR = {str: "Unicode", int: "Int", bool: "Bool"}


def test_the_widgets_synced_traits_are_the_snapshots_keys_with_matching_types():
    traits = {name: trait for name, trait in ProgressPanel.class_own_traits(sync=True).items()
              if not name.startswith("_")}
    hints = typing.get_type_hints(snap.Snapshot)
    assert set(traits) == set(hints)
    for name, tp in hints.items():
        trait, origin = traits[name], typing.get_origin(tp)
        if origin is typing.Literal:
            assert type(trait).__name__ == "Enum" and tuple(trait.values) == snap.values(tp)
        elif typing.is_typeddict(tp):
            assert type(trait).__name__ == "Dict", name
        elif origin is list:
            assert type(trait).__name__ == "List" and type(trait._trait).__name__ == "Dict"
        else:
            assert type(trait).__name__ == TRAIT_FOR[tp], name
    assert text.SNAPSHOT_KEYS == snap.SNAPSHOT_KEYS == tuple(hints)[:-1]  # all but timeline


# -- (c) the JSDoc of js/state.js ---------------------------------------------------------

def jsdoc_typedefs(source: str) -> dict:
    """{typedef name: {property: (type, description)}} of every `@typedef {object}`."""
    found = {}
    for block in re.findall(r"/\*\*(.*?)\*/", source, re.DOTALL):
        name = re.search(r"@typedef \{object\} (\w+)", block)
        if name:
            found[name.group(1)] = {
                prop: (kind, description.strip()) for kind, prop, description in
                re.findall(r"@property \{([^}]*)\} (\w+)([^\n]*)", block)}
    return found


JS_STATE = (ROOT / "js" / "state.js").read_text()
JS_TYPES = jsdoc_typedefs(JS_STATE)
# the JS readers turn a wire null into 0 here (and say so in the JSDoc)
JS_NULL_READ_AS_ZERO = {("Lane", "n")}


def nullable(tp) -> bool:
    return type(None) in typing.get_args(tp)


def vocabulary(tp) -> tuple:
    """The Literal values `tp` may take (empty if it is no vocabulary)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal or (
            origin is typing.Union and all(typing.get_origin(a) is typing.Literal for a in args)):
        return snap.values(tp)
    return ()


@pytest.mark.parametrize("typed", TYPED_DICTS, ids=lambda t: t.__name__)
def test_the_jsdoc_typedef_names_the_same_keys_nullable_alike(typed):
    props = JS_TYPES[typed.__name__]
    hints = typing.get_type_hints(typed)
    assert set(props) == set(hints)
    for key, tp in hints.items():
        js_type, description = props[key]
        if (typed.__name__, key) in JS_NULL_READ_AS_ZERO:
            assert "null" not in js_type and "null" in description
            continue
        assert nullable(tp) == ("null" in js_type), f"{typed.__name__}.{key}: {js_type}"
        optional = key in getattr(typed, "__optional_keys__", ()) and typed is not snap.Snapshot
        assert optional == ("left out when" in description), f"{typed.__name__}.{key}"
        for value in vocabulary(tp):
            assert f"`{value}`" in description, f"{typed.__name__}.{key} lacks {value!r}"


def test_the_jsdoc_block_is_the_wire_list_in_order():
    assert tuple(JS_TYPES["Block"]) == snap.BLOCK_FIELDS
    [read] = re.findall(r"f = \[o\.(\w+), o\.(\w+), o\.(\w+), o\.(\w+), o\.(\w+)\]", JS_STATE)
    assert read == snap.BLOCK_FIELDS
    status = JS_TYPES["Block"]["status"][1]
    assert all(f"`{v}`" in status for v in snap.values(snap.BlockStatus))


def test_the_js_traits_are_the_snapshots_keys():
    listed = re.search(r"export const TRAITS = [^[]*\[(.*?)\]", JS_STATE, re.DOTALL).group(1)
    assert set(re.findall(r'"(\w+)"', listed)) == set(snap.Snapshot.__annotations__)


# -- (d) docs/snapshot.md -------------------------------------------------------------------

DOC = (ROOT / "docs" / "snapshot.md").read_text()
DOC_TABLES = {snap.Snapshot: "The keys", snap.Overall: "`overall`", snap.Lane: "A lane",
              snap.Failure: "A failure", snap.FailureGroup: "A failure group",
              snap.Timeline: "`timeline`",
              snap.TimelineLane: "A timeline lane"}


def doc_table(heading: str) -> dict:
    """{key: (type, meaning)} of the first table under `### heading`."""
    section = DOC.split(f"\n### {heading}\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `")]
    return {row[0].strip("| `"): (row[1], row[2]) for row in rows}


def doc_type(tp) -> str:
    """How the docs' tables write `tp`."""
    if nullable(tp):
        arms = tuple(a for a in typing.get_args(tp) if a is not type(None))
        return doc_type(typing.Union[arms]) + " or null"
    if tp == snap.Number:
        return "number"
    origin = typing.get_origin(tp)
    if typing.is_typeddict(tp):
        return "dict"
    if origin is list:
        return f"list[{doc_type(typing.get_args(tp)[0])}]"
    if origin is tuple:
        return "list"
    if origin in (typing.Literal, typing.Union):
        return "str"
    return tp.__name__


def test_doc_type_reads_the_types_as_the_tables_write_them():
    assert doc_type(typing.Optional[snap.Number]) == "number or null"
    assert doc_type(list[list[str]]) == "list[list[str]]"
    assert doc_type(snap.LaneState) == "str" and doc_type(list[snap.Lane]) == "list[dict]"


@pytest.mark.parametrize("typed", TYPED_DICTS, ids=lambda t: t.__name__)
def test_the_docs_table_names_exactly_the_keys_with_their_types(typed):
    table = doc_table(DOC_TABLES[typed])
    hints = typing.get_type_hints(typed)
    assert list(table) == list(hints)
    for key, tp in hints.items():
        kind, meaning = table[key]
        assert kind == doc_type(tp), f"{typed.__name__}.{key}: {kind!r}"
        optional = key in getattr(typed, "__optional_keys__", ()) and typed is not snap.Snapshot
        assert optional == ("left out when" in meaning), f"{typed.__name__}.{key}"
        for value in vocabulary(tp):
            assert f"`{value}`" in meaning, f"{typed.__name__}.{key} lacks {value!r}"


def test_the_docs_block_table_is_the_wire_list_in_order():
    table = doc_table("A block")
    assert tuple(table) == snap.BLOCK_FIELDS
    assert all(f"`{v}`" in table["status"][1] for v in snap.values(snap.BlockStatus))
