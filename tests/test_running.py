"""Running: a started pool's parts, opened in order and closed in reverse — on real
worker processes, with display=None."""

import threading

import pytest

from poolbars.protocol import wire
from poolbars.options import PoolOptions
from poolbars.running import Running
from poolbars.runner import JobSettings
from poolbars.panel.session import Session

pytestmark = pytest.mark.timeout(120)

PLAIN = JobSettings(retries=0, timeout=None, max_in_flight=None, on_success=None,
                    on_failure=None)


def opened(options, journal=None, panel=None):
    return Running(options, "", None, None, panel, journal, True)


def test_it_runs_maps_then_closes_once_calling_on_exit_once():
    running = opened(PoolOptions(2, display=None))
    assert running.collect(abs, [-1, -2, -3], wire.CALL_ITEM, "raise", PLAIN) == [1, 2, 3]
    assert running.results.so_far() == {0: 1, 1: 2, 2: 3} and running.closed_at is None
    exits = []
    running.close(None, lambda: exits.append(1), replay=True)
    running.close("failed", lambda: exits.append(2), replay=True)  # closed already
    assert exits == [1] and running.closing and not running.engine.alive
    assert running.session.closed and running.session.state.status == "done"
    assert running.stats().done == 3 and running.closed_at >= running.started_at


def test_a_journal_numbers_the_map_calls_and_closes_last(tmp_path):
    running = opened(PoolOptions(1, display=None), tmp_path / "j.jsonl")
    assert running.collect(abs, [-4], wire.CALL_ITEM, "raise", PLAIN) == [4]
    assert running.collect(abs, [-5], wire.CALL_ITEM, "raise", PLAIN) == [5]
    assert running.maps_run == 2
    running.close(None, None, replay=True)
    again = opened(PoolOptions(1, display=None), tmp_path / "j.jsonl")
    ran = []  # items a worker ran (on_success); the journal's come back without running
    settings = PLAIN._replace(on_success=lambda index, result, worker: ran.append(index))
    try:  # each call finds its own number's records: the first's item is not the second's
        assert again.collect(abs, [-4], wire.CALL_ITEM, "raise", settings) == [4]
        assert again.collect(abs, [-5], wire.CALL_ITEM, "raise", settings) == [5]
        assert again.collect(abs, [-7], wire.CALL_ITEM, "raise", settings) == [7]
        assert ran == [0]  # the third call only
    finally:
        again.close(None, None, replay=True)


class NoChannel:
    """A panel whose session serves no channel: the engine cannot be built on it."""

    def __init__(self):
        self.session = Session(display=None)


def test_a_part_that_fails_to_open_closes_the_ones_opened_before_it(tmp_path):
    panel = NoChannel()
    try:
        with pytest.raises(AssertionError, match="serves a channel"):
            opened(PoolOptions(1, display=None), tmp_path / "j.jsonl", panel)
        assert not panel.session.closed  # a panel's session is not the pool's to close
        assert not [t for t in threading.enumerate() if t.name == "poolbars-dispatcher"]
        second = opened(PoolOptions(1, display=None), tmp_path / "j.jsonl")
        assert second.collect(abs, [-6], wire.CALL_ITEM, "raise", PLAIN) == [6]
        second.close(None, None, replay=True)
    finally:
        panel.session.close()
