"""The protocol between the pool and its workers (wire.py): the slot board over the shared
array, seen from the parent (over its RawArray) and from a worker (over a memoryview),
and each pipe message, which must come back as itself through `wire.dumps`/`wire.loads`,
also in a freshly spawned process."""

import os
import pickle
import time

import multiprocess
import pytest

import poolbars as pb
from poolbars.protocol import wire
from poolbars.errors import RemoteFailure
from poolbars.engine.worker import run_items

pytestmark = pytest.mark.timeout(60)

WORKERS = 3


def boards(method="spawn"):
    """The parent's board and a worker's view of the same shared array."""
    parent = wire.SlotBoard.create(multiprocess.get_context(method), WORKERS)
    return parent, wire.SlotBoard.attach(parent.array)


def test_a_new_board_says_every_worker_runs_nothing_and_holds_no_command():
    parent, _ = boards()
    for n in range(WORKERS):
        assert parent.item(n) is None
        assert parent.sending(n) is None
        assert parent.group(n) == 0


def test_what_a_worker_marks_through_its_hot_view_the_parent_reads_by_name():
    parent, view = boards()
    ints, at, started_at = view.hot(1)
    assert isinstance(ints, memoryview)  # the per-item write is a plain memoryview store
    ints[at] = 12345
    now_us = time.time_ns() // 1000
    ints[started_at] = now_us
    assert parent.item(1) == 12345
    assert parent.sending(1) is None
    assert parent.started(1) == now_us / 1e6
    assert parent.item(0) is None and parent.item(2) is None  # one worker, one slot


@pytest.mark.parametrize("first", [0, 1, 7, 2**40])
def test_a_worker_sending_a_chunks_results_names_that_chunk_and_no_item(first):
    parent, view = boards()
    ints, at, _ = view.hot(2)
    ints[at] = first + 3  # it ran an item of the chunk
    view.mark_sending(2, first)
    assert parent.sending(2) == first
    assert parent.item(2) is None
    view.clear(2)
    assert parent.sending(2) is None and parent.item(2) is None


def test_the_parent_clears_a_dead_workers_item_for_its_successor():
    parent, view = boards()
    ints, at, _ = view.hot(0)
    ints[at] = 0  # item 0 is an item, not "none"
    assert parent.item(0) == 0
    parent.clear(0)
    assert view.item(0) is None


def test_a_commands_process_group_is_set_by_the_worker_and_cleared_by_the_parent():
    parent, view = boards()
    view.set_group(1, 4242)
    assert parent.group(1) == 4242
    assert parent.group(0) == 0 and parent.group(2) == 0
    parent.clear_group(1)
    assert view.group(1) == 0
    view.set_group(1, 99)
    view.set_group(1, 0)  # the command ended
    assert parent.group(1) == 0


def test_the_slots_of_different_workers_do_not_overlap():
    parent, view = boards()
    for n in range(WORKERS):
        ints, at, started_at = view.hot(n)
        ints[at], ints[started_at] = 100 + n, (200 + n) * 10**6
        view.set_group(n, 300 + n)
    assert [parent.item(n) for n in range(WORKERS)] == [100, 101, 102]
    assert [parent.started(n) for n in range(WORKERS)] == [200.0, 201.0, 202.0]
    assert [parent.group(n) for n in range(WORKERS)] == [300, 301, 302]


def test_run_items_marks_each_item_and_its_start_on_the_board():
    parent, view = boards()
    seen = []

    def look(x):
        seen.append((x, parent.item(1), parent.started(1)))
        return x * 2

    before = time.time()
    values, failures = run_items(look, wire.CALL_ITEM, 50, [0, 1, 2], _Reporter(),
                                 view.hot(1), True)
    assert values == [0, 2, 4] and failures == []
    assert [(x, item) for x, item, _ in seen] == [(0, 50), (1, 51), (2, 52)]
    assert all(before - 1 <= started <= time.time() + 1 for _, _, started in seen)
    assert parent.item(0) is None and parent.item(2) is None


def test_a_local_board_runs_items_outside_a_pool():
    board = wire.SlotBoard.local()
    values, failures = run_items(lambda a, b: a + b, wire.CALL_STAR, 0, [(1, 2), (3, 4)],
                                 _Reporter(), board.hot(0), False)
    assert values == [3, 7] and failures == []
    assert board.item(0) == 1  # the last item run


class _Reporter:
    task = None  # run_items notes the running item here


FAILURE = RemoteFailure("ValueError", "bad", "Traceback …\nValueError: bad\n")
MESSAGES = [
    wire.Function(3, b"dill bytes"),
    wire.Tasks(3, wire.CALL_STAR, 10, [(1, 2), (3, 4)], True),
    wire.Stop(),
    wire.Resend(),
    wire.Ready(4321),
    wire.InitFailed(FAILURE),
    wire.Loaded(3),
    wire.SetupFailed(FAILURE),
    wire.TeardownFailed(FAILURE),
    wire.Results([1, None], [(1, FAILURE)], [("done", 0, 2)]),
    wire.Each([wire.dumps(1), wire.dumps(None)], [(1, FAILURE)], []),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_each_message_comes_back_as_itself_through_the_wire(message):
    data = wire.dumps(message)
    assert data[:1] == b"p"  # plain pickle: by reference to its class in poolbars.protocol.wire
    loaded = wire.loads(data)
    assert type(loaded) is type(message)
    assert loaded == message
    assert loaded._asdict() == message._asdict()


def test_a_message_holding_what_only_dill_pickles_still_comes_back_as_its_kind():
    message = wire.Tasks(1, wire.CALL_ITEM, 0, [lambda x: x + 1], False)
    with pytest.raises((pickle.PicklingError, AttributeError)):  # plain pickle cannot
        pickle.dumps(message)
    loaded = wire.loads(wire.dumps(message))
    assert type(loaded) is wire.Tasks
    assert (loaded.fn_id, loaded.first, loaded.timed) == (1, 0, False)
    assert loaded.items[0](1) == 2


def _echo(conn) -> None:
    """In a spawned process: load each message, answer its kind and fields as plain data."""
    while True:
        message = wire.loads(conn.recv_bytes())
        if isinstance(message, wire.Stop):
            break
        conn.send((type(message).__module__, type(message).__name__, message._asdict()))


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_messages_load_as_their_kinds_in_a_spawned_worker(method):
    ctx = multiprocess.get_context(method)
    parent_end, child_end = ctx.Pipe()
    process = ctx.Process(target=_echo, args=(child_end,), daemon=True)
    process.start()
    try:
        for message in MESSAGES:
            if isinstance(message, wire.Stop):
                continue
            parent_end.send_bytes(wire.dumps(message))
            assert parent_end.poll(30)
            assert parent_end.recv() == ("poolbars.protocol.wire", type(message).__name__,
                                         message._asdict())
        parent_end.send_bytes(wire.dumps(wire.Stop()))
        process.join(30)
        assert process.exitcode == 0
    finally:
        process.kill()


def _worker_pid_and_item(x):
    return os.getpid(), x


def test_a_pool_runs_over_the_typed_messages_and_the_board():
    with pb.Pool(2, display=None, timeout=30) as pool:  # timed: start times are marked
        out = pool.map(_worker_pid_and_item, range(50))
    assert [x for _, x in out] == list(range(50))
    assert os.getpid() not in {pid for pid, _ in out}
