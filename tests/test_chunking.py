"""next_chunk_size: a job's next chunk from its measured task time, as plain numbers."""

import pytest

from poolbars.engine.chunking import CHUNK_SECONDS, MAX_GROWTH, TAIL_SECONDS, next_chunk_size

pytestmark = pytest.mark.timeout(30)


def size(timing, *, chunksize=None, processes=4, length=None, read=0, consumed=None,
         max_in_flight=None):
    """The next size, with everything read so far taken by the caller unless told."""
    return next_chunk_size(timing, chunksize=chunksize, processes=processes, length=length,
                           read=read, consumed=read if consumed is None else consumed,
                           max_in_flight=max_in_flight)


def test_the_first_chunk_is_one_item():
    assert size(None) == 1
    assert size(None, length=1000) == 1


def test_quick_items_grow_the_chunk_fourfold_at_most():
    assert MAX_GROWTH == 4
    assert size((1, 0.0003)) == 4  # 0.3 ms items: 50 ms would be 166 of them
    assert size((4, 0.0012)) == 16
    assert size((16, 0.0048)) == 64


def test_growth_stops_at_about_fifty_ms_of_work():
    assert CHUNK_SECONDS == 0.05
    assert size((64, 0.0192)) == 166  # 166 × 0.3 ms = 49.8 ms
    assert size((166, 0.0498)) == 166  # and stays there
    assert size((166, 0.1)) == 83  # items got slower: the chunk shrinks at once
    assert size((10, 1.0)) == 1  # slow items: one at a time


def test_near_the_end_every_worker_still_gets_work():
    # 0.3 ms items want 166; 400 left for 4 workers: ceil(400 / 8) = 50 each
    assert size((166, 0.0498), length=10_400, read=10_000) == 50
    assert size((166, 0.0498), length=10_200, read=10_000) == 25  # ceil(200 / 8)
    # far from the end the cap does not bite
    assert size((166, 0.0498), length=20_000, read=10_000) == 166


def test_the_tail_floor_is_about_five_ms_of_work():
    assert TAIL_SECONDS == 0.005
    # 0.3 ms items, 2 left: the share would be 1, the floor is 5 ms = 16 items
    assert size((166, 0.0498), length=10_002, read=10_000) == 16
    # 0.03 ms items: floor 166 items beats a share of 5
    assert size((1000, 0.03), length=10_040, read=10_000) == 166


def test_an_input_read_past_its_length_is_not_capped():
    assert size((166, 0.0498), length=100, read=100) == 166
    assert size((166, 0.0498), length=100, read=150) == 166  # more than len() said


def test_zero_time_tasks_grow_fourfold_with_a_tail_floor_of_one():
    assert size((3, 0.0)) == 12
    assert size((3, -0.001)) == 12  # a clock step back counts as no time
    assert size((100, 0.0), length=10_002, read=10_000) == 1  # share 1, floor 1
    assert size((100, 0.0), length=10_080, read=10_000) == 10


def test_backpressure_leaves_room_for_max_in_flight_only():
    assert size((10, 0.003), read=100, consumed=95, max_in_flight=8) == 3
    assert size((10, 0.003), read=100, consumed=92, max_in_flight=8) == 0  # 0: wait
    assert size((10, 0.003), read=100, consumed=50, max_in_flight=8) == 0  # never negative
    assert size(None, read=100, consumed=100, max_in_flight=8) == 1


def test_without_max_in_flight_four_chunks_per_process_or_64_may_be_in_flight():
    # chunks of 4: 4 × 2 × 4 = 32 is below 64, so 64 items may be in flight
    assert size((1, 0.0003), processes=2, read=100, consumed=40) == 4  # room 4
    assert size((1, 0.0003), processes=2, read=100, consumed=37) == 1
    assert size((1, 0.0003), processes=2, read=100, consumed=36) == 0
    # limit 4 × 2 × 40 = 320 beats 64: room 20 caps the chunk of 40
    assert size((10, 0.003), processes=2, read=400, consumed=100) == 20


def test_an_explicit_chunksize_ignores_timing_but_not_backpressure():
    assert size(None, chunksize=7) == 7
    assert size((10, 0.003), chunksize=7, length=10_002, read=10_000) == 7  # no tail cap
    assert size((10, 10.0), chunksize=7) == 7
    assert size((10, 0.003), chunksize=7, read=10, consumed=5, max_in_flight=8) == 3
    # with no max_in_flight the limit is max(4 × processes × 7, 64) = 112 for 4 processes
    assert size(None, chunksize=7, read=110, consumed=0) == 2


def test_an_input_of_unknown_length_only_grows():
    assert size((100, 0.003), length=None, read=10_000) == 400
    assert size((400, 0.012), length=None, read=10_000) == 1600
    assert size((1600, 0.048), length=None, read=10_000) == 1666  # 50 ms of 30 µs items
