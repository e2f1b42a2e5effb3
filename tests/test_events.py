"""The event types: one per kind, a wire form that folds the same, and a wire that names
no class of ours."""

import pickle
import pickletools

import pytest

from poolbars.protocol import events as ev
from poolbars.panel.collector import readable, well_formed
from poolbars.progress.reporting import Bar, Reporter
from poolbars.panel.state import PanelState

KINDS = [ev.WORKER, ev.WORKER_FAIL, ev.SEEN, ev.START, ev.DONE, ev.FAIL, ev.RETRY, ev.CANCEL,
         ev.END, ev.CONTROL, ev.CLEAR, ev.BAR, ev.MESSAGE]

# a run that uses every kind, as named events
RUN = [
    ev.WorkerChange(0, "starting"), ev.WorkerChange(1, "idle", 101), ev.Seen(0, 6),
    ev.WorkerChange(0, "idle", 100), ev.Control(True, False), ev.Clear("done"),
    ev.Start(0, 0, 3, "'a'", 10.0), ev.Start(1, 3, 1, "'d'", 10.0),
    ev.BarUpdate(0, 1, 0, "rows", 5, 10, "rows", (("k", "v"),), False, 10.5),
    ev.Message(0, 1, "early"), ev.Message("main", None, "hello"),
    ev.Retry(0, 1, "'b'", "error", "ValueError: once", 1, 11.0),
    ev.Fail(1, 3, "'d'", "timeout", "TaskTimeout: 1 s", "Traceback…", 1, 11.0),
    ev.Done(1, 0, 11.0), ev.Start(1, 1, 1, "'b'", 11.5, 1),
    ev.WorkerFail(1, 101, "teardown", "OSError: gone", "Traceback…", 12.0),
    ev.Done(0, 2, 12.0), ev.Cancel(1, [1]), ev.End("cancelled", 13.0),
]


def test_each_kind_has_one_named_type_and_back():
    assert sorted(ev.KIND.values()) == sorted(KINDS)
    assert all(ev.KIND[ev.TYPE[kind]] == kind for kind in KINDS)
    assert {type(event) for event in RUN} == set(ev.KIND)  # RUN covers every kind


def test_the_wire_form_is_the_kind_then_the_fields_in_order():
    event = ev.Done(3, 7, 1.5)
    assert ev.wire(event) == (ev.DONE, 3, 7, 1.5) and type(ev.wire(event)) is tuple
    assert (event.worker, event.items, event.t) == (3, 7, 1.5)
    assert ev.wire(ev.Seen(4)) == (ev.SEEN, 4, None)  # defaults are sent too


def test_a_run_folds_the_same_named_or_as_plain_tuples():
    named, plain = PanelState("run"), PanelState("run")
    for event in RUN:
        named.fold(event)
        plain.fold(ev.wire(event))
    assert named.version == plain.version == len(RUN)
    assert named.snapshot(now=14.0) == plain.snapshot(now=14.0)
    assert named.timeline_view(now=14.0) == plain.timeline_view(now=14.0)
    snap = named.snapshot(now=14.0)
    assert snap["status"] == "cancelled" and snap["overall"]["timed_out"] == 1
    assert snap["overall"]["cancelled"] >= 1 and len(snap["failures"]) == 2


def test_an_unknown_kind_is_ignored():
    state = PanelState()
    state.fold(("a-kind-from-a-newer-sender", 1, 2))
    assert state.version == 0


@pytest.mark.parametrize("event", [
    ev.wire(ev.BarUpdate("host:1", 2, None, "d", 1, 10, "it", (), False, 1.0)),
    ev.wire(ev.Message(3, 4, "text")),
    ev.wire(ev.Start(0, 0, 1, "'a'", 1.0))[:6],  # as a cluster's worker sends it: no `retried`
    ev.wire(ev.BarUpdate("host:1", 2, None, "d", 1, 10, "it", (), False, 1.0, (("k", "1"),))),
    ev.wire(ev.BarUpdate("host:1", 2, None, "d", 1, 10, "it", (), False, 1.0))[:11],  # no meta
])
def test_what_other_processes_send_is_well_formed_on_the_wire(event):
    assert well_formed(event)


def test_a_reporter_batch_pickles_with_no_class_in_it():
    sent = []
    reporter = Reporter(sent.append, source=3)
    reporter.task = 5
    bar = Bar(10, "rows", reporter=reporter)
    bar.set_postfix(loss=0.5)
    reporter.message("writing")
    bar.close()
    reporter.flush()
    batch = [event for each in sent for event in each]
    assert all(type(event) is tuple for event in batch)
    data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
    opcodes = {op.name for op, _, _ in pickletools.genops(data)}
    assert not opcodes & {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "NEWOBJ", "REDUCE"}
    assert readable(data) == batch


def test_named_events_from_a_peer_are_dropped_not_folded():
    # a peer must send the wire form: a pickle naming our classes is not a batch
    data = pickle.dumps([ev.Message(3, None, "text")])
    assert readable(data) is None


@pytest.mark.parametrize("meta", [{"k": 1}, (("k", 1),), (("k",),), ["k", "1"]])
def test_a_bar_whose_meta_is_not_text_pairs_is_not_well_formed(meta):
    event = ev.wire(ev.BarUpdate("host:1", 2, None, "d", 1, 10, "it", (), False, 1.0, meta))
    assert not well_formed(event)
