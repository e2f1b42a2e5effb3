"""groups.py: failures grouped by kind and message shape, bounded, by smallest index."""

from poolbars.panel import groups
from poolbars.panel.limits import MAX_GROUP_ITEMS, MAX_GROUPS
from poolbars.panel.state import PanelState
from poolbars.protocol import events as ev


def test_the_shape_of_an_error_makes_what_varies_an_ellipsis():
    assert groups.shape("ValueError: shard 17 is corrupt") == "ValueError: shard … is corrupt"
    assert groups.shape("KeyError: 'a.csv'") == "KeyError: '…'"
    assert groups.shape('OSError: [Errno 2] No such file: "/x/y" at 0x7f3a') == \
        'OSError: [Errno …] No such file: "…" at …'
    assert groups.shape("TaskTimeout: took 2.5 s\nmore lines") == "TaskTimeout: took … s"


def test_failures_group_by_kind_and_shape_with_their_smallest_indices_sorted():
    found = groups.FailureGroups()
    for i in (107, 5, 90, 22, 73, 39, 56):
        found.add("error", i, f"ValueError: shard {i} is corrupt")
    found.add("timeout", 3, "TaskTimeout: item 3 took longer than 2 s")
    found.add("error", 1, "ZeroDivisionError: division by zero")
    assert found.view() == [
        {"kind": "error", "shape": "ZeroDivisionError: division by zero", "count": 1, "items": [1]},
        {"kind": "timeout", "shape": "TaskTimeout: item … took longer than … s", "count": 1,
         "items": [3]},
        {"kind": "error", "shape": "ValueError: shard … is corrupt", "count": 7,
         "items": [5, 22, 39, 56, 73, 90, 107]},
    ]


def test_ten_thousand_failures_stay_bounded_and_counted_exactly():
    state = PanelState()
    for i in range(10_000):  # newest first: the listed items are still the smallest
        index = 9_999 - i
        name = "Error" + "x" * (index % 30)  # 30 shapes: 10 past MAX_GROUPS
        state.fold(ev.Fail(0, index, str(index), "error", f"{name}: bad {index}", "", 1, 1.0))
    view = state.snapshot(now=2.0)["failure_groups"]
    assert len(view) == MAX_GROUPS + 1
    assert sum(g["count"] for g in view) == 10_000
    assert all(len(g["items"]) <= MAX_GROUP_ITEMS and g["items"] == sorted(g["items"])
               for g in view)
    other = next(g for g in view if g["shape"] == groups.OTHER)
    # the 10 shapes met last (residues 10..19, 333 failures each) share the "other" group
    assert other["count"] == 3330 and other["items"][:11] == [*range(10, 20), 40]
    first = view[0]
    assert first["shape"] == "Error: bad …" and first["count"] == 334
    assert first["items"] == list(range(0, 30 * MAX_GROUP_ITEMS, 30))
