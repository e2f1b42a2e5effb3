"""The collector's throttle (injected clock) and its drain thread."""

import pickle
import queue
import threading

from poolbars.protocol import events as ev
from poolbars.panel.collector import Collector, Throttle
from poolbars.panel.state import PanelState


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_throttle_allows_one_action_per_interval():
    clock = FakeClock()
    throttle = Throttle(0.1, clock)
    assert throttle.ready()
    throttle.mark()
    allowed = 0
    for _ in range(100):  # 100 attempts over 0.5 s
        clock.now += 0.005
        if throttle.ready():
            throttle.mark()
            allowed += 1
    assert allowed == 5
    assert 0 < throttle.wait_time() <= 0.1


def test_collector_pushes_at_most_once_per_interval_and_always_a_final_push():
    clock = FakeClock()
    pushes = []
    source = queue.Queue()
    collector = Collector(source, PanelState(), pushes.append, interval=0.1, clock=clock)
    # drive the drain loop by hand: 200 batches arriving over 1 s of fake time
    for _i in range(200):
        clock.now += 0.005
        source.put([(ev.SEEN, 1, None)])
        collector._drain(block=False)
        if collector._due():
            collector._push()
    assert 9 <= len(pushes) <= 11
    assert pushes[-1]["overall"]["done"] == 0
    source.put([(ev.SEEN, 0, 200), (ev.END, "done")])
    collector.stop()  # never started: folds what is left and pushes the final state
    assert pushes[-1]["status"] == "done" and pushes[-1]["overall"]["total"] == 200


def test_collector_thread_folds_bytes_and_lists_and_stops_with_a_complete_final_push():
    pushes = []
    source = queue.Queue()
    state = PanelState()
    collector = Collector(source, state, pushes.append, interval=0.05)
    collector.start()
    source.put([(ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 1000), (ev.START, 0, 0, 1000, "0", 1.0)])
    for n in range(1, 1001):
        source.put(pickle.dumps([(ev.BAR, 0, 1, 0, "d", n, 1000, "it", (), n == 1000, 1.0)]))
    source.put([(ev.DONE, 0, 1000, 2.0), (ev.END, "done")])
    collector.stop()
    assert not collector._thread.is_alive()
    final = pushes[-1]
    assert final["overall"]["done"] == 1000 and final["status"] == "done"
    assert state.bar_units == 1000 and collector.folded == 1005
    assert len(pushes) < 50  # coalesced, not one push per batch


def test_a_failing_view_does_not_stop_the_collector():
    calls = []

    def flaky(snapshot):
        calls.append(snapshot)
        if len(calls) == 1:
            raise RuntimeError("view went away")

    source = queue.Queue()
    collector = Collector(source, PanelState(), flaky, interval=0.01)
    collector.start()
    source.put([(ev.SEEN, 0, 3)])
    threading.Event().wait(0.05)
    source.put([(ev.END, "done")])
    collector.stop()
    assert calls[-1]["status"] == "done"
    assert any(isinstance(e, RuntimeError) for e in collector.errors)
