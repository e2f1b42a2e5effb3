"""Input that fails: an iterable that raises while the pool reads it. The results of
the items before it come first (in order for imap), then its own exception, as
CPython's pool does; the counts hold only the items actually read."""

import time

import pytest

import poolbars as pb

pytestmark = pytest.mark.timeout(90)


class InputBroke(Exception):
    """Raised by the input itself, never by a task."""


def broken_input(k):
    for i in range(k):
        yield i
    raise InputBroke(f"the input broke at item {k}")


def slow_square(x):
    time.sleep(0.05)  # still running when the dispatcher reads the broken item
    return x * x


@pytest.mark.parametrize("chunksize", [None, 4])
def test_imap_yields_the_items_before_the_error_in_order_then_raises_it(chunksize):
    got = []
    with pb.Pool(2, display=None, chunksize=chunksize) as pool:
        with pytest.raises(InputBroke, match="broke at item 6"):
            for value in pool.imap(slow_square, broken_input(6)):
                got.append(value)
    assert got == [x * x for x in range(6)]
    s = pool.stats
    assert s.total == 6 and s.done == 6
    assert s.done + s.failed + s.timed_out + s.crashed + s.cancelled == s.total


def test_imap_unordered_yields_every_item_before_the_error_then_raises_it():
    got = []
    with pb.Pool(2, display=None, chunksize=4) as pool:
        with pytest.raises(InputBroke):
            for value in pool.imap_unordered(slow_square, broken_input(7)):
                got.append(value)
    assert sorted(got) == [x * x for x in range(7)]
    assert pool.stats.total == 7 and pool.stats.done == 7


def test_map_raises_the_input_error_and_counts_only_what_was_read():
    with pb.Pool(2, display=None, chunksize=3) as pool:
        with pytest.raises(InputBroke):
            pool.map(slow_square, broken_input(5))
        assert pool.map(abs, [-1, -2]) == [1, 2]  # the pool goes on
    s = pool.stats
    assert s.total == 7 and s.done == 7 and s.cancelled == 0


def test_an_input_that_raises_at_once_raises_with_nothing_run():
    with pb.Pool(1, display=None) as pool:
        with pytest.raises(InputBroke):
            list(pool.imap(slow_square, broken_input(0)))
    assert pool.stats.total == 0
