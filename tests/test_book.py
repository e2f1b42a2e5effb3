"""The job book on its own: no processes, no threads. Chunks are taken from it as a backend
would, results and failures are fed back, and its counts, outcomes and events are checked
— with the invariant that every item counted is in exactly one place: settled (done,
failed, timed out, crashed, cancelled), out on a worker, or back in line."""

from concurrent.futures import Future

import pytest

from poolbars.engine import book as book_module
from poolbars.protocol import events as ev
from poolbars.engine.book import END, ERROR, Book, Job, runs_between
from poolbars.errors import Failure, RemoteFailure, TaskFailed

NOW = 1000.0


class Bench:
    """A book with its posted events, and the chunks out on (pretend) workers."""

    def __init__(self, chunksize=None, processes=2):
        self.events = []
        self.book = Book(self.events.extend, processes=processes, chunksize=chunksize,
                         clock=lambda: NOW)
        self.out = []  # chunks handed out and not settled

    def job(self, items, length="len", retries=0, max_in_flight=None, future=None):
        if length == "len":
            length = len(items)
        job = Job(0, 0, items, length, max_in_flight, future, retries)
        self.book.start_job(job)
        return job

    def take(self):
        chunk = self.book.next_chunk()
        if chunk is not None:
            self.out.append(chunk)
        return chunk

    def finish(self, chunk, failed=(), worker=0):
        """Settle `chunk` as its worker would report it: each value doubled; the offsets
        in `failed` raised."""
        self.out.remove(chunk)
        values = [None if o in failed else item * 2 for o, item in enumerate(chunk.items)]
        remote = [(o, error(f"item {chunk.items[o]}")) for o in failed]
        self.book.settle_chunk(chunk, values, remote, [], worker,
                               [ev.WorkerChange(worker, "idle", None)])

    def kinds(self, kind):
        return [e for e in self.events if type(e) is kind]

    def accounted(self):
        """Every counted item is in exactly one place."""
        s = self.book.stats
        settled = s.done + s.failed + s.timed_out + s.crashed + s.cancelled
        out = sum(len(c.items) for c in self.out)
        waiting = sum(len(c.items) for j in self.book.jobs for c in j.requeued)
        unread = sum(j.counted - j.read for j in self.book.jobs if not j.read_all)
        return settled + out + waiting + unread == s.total


def error(message):
    return RemoteFailure("ValueError", message, f"ValueError: {message}\n")


def heads(job):
    """The position of each outcome (END as itself)."""
    return [o if o == END else o[0] for o in outcomes(job)]


def outcomes(job):
    got = []
    while not job.outcomes.empty():
        got.append(job.outcomes.get())
    return got


def test_a_sized_input_is_counted_at_once_and_read_in_chunks():
    bench = Bench(chunksize=3)
    job = bench.job(list(range(7)))
    assert bench.book.stats.total == 7 and bench.kinds(ev.Seen) == [ev.Seen(0, 7)]
    chunks = [bench.take() for _ in range(3)]
    assert [(c.position, c.first, c.items) for c in chunks] == [
        (0, 0, [0, 1, 2]), (3, 3, [3, 4, 5]), (6, 6, [6])]
    assert bench.take() is None and job.read_all and bench.accounted()
    for chunk in reversed(chunks):
        bench.finish(chunk)
        assert bench.accounted()
    assert outcomes(job) == [(6, [12], [], 0), (3, [6, 8, 10], [], 0),
                             (0, [0, 2, 4], [], 0), END]
    assert job.ended and job not in bench.book.jobs and bench.book.stats.done == 7
    assert bench.kinds(ev.Done)[-1] == ev.Done(0, 3, NOW)


def test_an_unsized_input_grows_the_total_as_it_is_read():
    bench = Bench(chunksize=2)
    job = bench.job((x for x in range(5)), length=None)
    sizes = []
    while (chunk := bench.take()) is not None:
        sizes.append(len(chunk.items))
        assert bench.accounted()
    assert sizes == [2, 2, 1] and bench.book.stats.total == 5
    # the last, short chunk ends the input: its count goes out as the known total
    assert bench.kinds(ev.Seen) == [ev.Seen(2, None), ev.Seen(2, None), ev.Seen(0, 5)]
    for chunk in list(bench.out):
        bench.finish(chunk)
    assert outcomes(job)[-1] == END and bench.accounted()


def test_fewer_items_than_len_said_lower_the_total():
    bench = Bench(chunksize=10)
    job = Job(0, 0, iter(range(3)), 5, None)
    bench.book.start_job(job)
    bench.finish(bench.take())
    assert bench.book.stats.total == 3 and outcomes(job)[-1] == END and bench.accounted()


def test_the_first_chunk_is_one_item_then_sizes_follow_the_measured_time():
    bench = Bench(processes=1)
    job = bench.job(list(range(1000)))
    first = bench.take()
    assert len(first.items) == 1
    job.timing = (1, 0.001)  # 1 ms an item: the next chunk grows, at most 4-fold
    assert len(bench.take().items) == 4


def test_max_in_flight_holds_reading_until_the_caller_takes_results():
    bench = Bench(chunksize=1)
    job = bench.job(list(range(5)), max_in_flight=2)
    assert bench.take() and bench.take()
    assert bench.take() is None and job.throttled
    job.consumed = 1  # the caller took one result
    assert bench.take().position == 2 and not job.throttled


def test_a_failed_item_is_retried_and_its_neighbours_delivered_around_it():
    bench = Bench(chunksize=3)
    job = bench.job([1, 2, 3], retries=1)
    chunk = bench.take()
    bench.finish(chunk, failed={1}, worker=1)
    assert bench.book.stats.retried == 1 and bench.accounted()
    retry_event = bench.kinds(ev.Retry)[0]
    assert (retry_event.worker, retry_event.item, retry_event.label) == (1, 1, "2")
    assert retry_event.attempts == 1
    assert outcomes(job) == [(0, [2], [], 1), (2, [6], [], 1)]
    again = bench.take()
    assert (again.position, again.attempt, again.items) == (1, 2, [2])
    bench.finish(again, failed={0}, worker=0)
    assert bench.take() is None  # reading nothing more ends the input, and the job
    ((position, values, failures, worker), end) = outcomes(job)
    assert (position, values, worker, end) == (1, [None], 0, END)
    failure = failures[0][1]
    assert isinstance(failure, Failure) and (failure.index, failure.attempts) == (1, 2)
    s = bench.book.stats
    assert (s.done, s.failed, s.retried) == (2, 1, 1) and bench.accounted()
    assert bench.book.record.failures == [failure] and len(bench.kinds(ev.Fail)) == 1


@pytest.mark.parametrize("kind, counter", [("timeout", "timed_out"), ("crashed", "crashed")])
def test_a_lost_item_counts_as_its_kind_and_the_rest_go_back_in_line(kind, counter):
    bench = Bench(chunksize=3)
    job = bench.job([1, 2, 3])
    chunk = bench.take()
    bench.out.remove(chunk)  # its worker died on item 1, as the backend found
    bench.book.settle_failure(chunk, 1, kind, error("lost"), 0)
    job.requeue(chunk, [0, 2])
    assert getattr(bench.book.stats, counter) == 1 and bench.accounted()
    assert [c.items for c in job.requeued] == [[1], [3]]
    ((position, values, failures, _),) = outcomes(job)
    assert (position, values, failures[0][1].kind) == (1, [None], kind)
    bench.finish(bench.take())
    bench.finish(bench.take())
    assert bench.take() is None  # reading nothing more ends the input, and the job
    assert heads(job) == [0, 2, END] and bench.accounted()


def test_an_input_that_raises_runs_what_it_gave_then_raises_after_their_results():
    def items():
        yield 1
        yield 2
        raise OSError("the disk went away")

    bench = Bench(chunksize=5)
    job = bench.job(items(), length=None)
    chunk = bench.take()
    assert chunk.items == [1, 2] and job.read_all and bench.book.stats.total == 2
    bench.finish(chunk)
    got = outcomes(job)
    assert got[0] == (0, [2, 4], [], 0) and got[1][0] == ERROR and got[2] == END
    assert str(got[1][1]) == "the disk went away" and bench.accounted()


def test_an_input_whose_iter_raises_ends_the_job_with_that_error():
    class Broken:
        def __iter__(self):
            raise RuntimeError("no items here")

    bench = Bench()
    job = bench.job(Broken(), length=None)
    (error_outcome, end) = outcomes(job)
    assert error_outcome[0] == ERROR and str(error_outcome[1]) == "no items here"
    assert end == END and bench.book.stats.total == 0 and bench.take() is None


def test_cancel_counts_every_unsettled_item_and_ends_the_job():
    bench = Bench(chunksize=3)
    job = bench.job(list(range(10)))
    chunk = bench.take()
    bench.out.remove(chunk)  # the backend killed its worker: 3 items were running there
    bench.book.cancel(job, running=3, killed=[1])
    assert bench.book.stats.cancelled == 10 and bench.kinds(ev.Cancel) == [ev.Cancel(7, [1])]
    assert outcomes(job) == [END] and job.cancelled and bench.accounted()
    assert bench.take() is None
    bench.book.cancel(job)  # twice: nothing more happens
    assert bench.book.stats.cancelled == 10


def test_drain_lists_what_never_ran_and_lets_what_runs_finish():
    bench = Bench(chunksize=2)
    job = bench.job(list(range(6)), retries=1)
    first, second = bench.take(), bench.take()
    bench.finish(second, failed={0})  # item 2 waits in line for its retry
    job.withdrawn = True  # as Engine.drain sets it, before its request is read
    assert bench.take() is None
    bench.book.drain(job)
    assert job.not_run == [2, 4, 5] and bench.book.stats.cancelled == 3
    assert bench.kinds(ev.Cancel) == [ev.Cancel(3, [])] and bench.accounted()
    bench.finish(first)
    assert heads(job) == [3, 0, END] and bench.accounted()


def test_a_submitted_call_settles_its_future():
    bench = Bench()
    ok, bad, dropped = Future(), Future(), Future()
    bench.finish(_one(bench, ok, 21))
    assert ok.result() == 42
    bench.finish(_one(bench, bad, 1), failed={0})
    assert isinstance(bad.exception(), TaskFailed)
    job = bench.job([5], future=dropped)
    bench.book.cancel(job)
    assert dropped.cancelled() and bench.accounted()


def _one(bench, future, item):
    bench.job([item], future=future)
    return bench.take()


def test_restore_counts_journaled_items_as_done():
    bench = Bench()
    bench.book.restore(4)
    s = bench.book.stats
    assert (s.total, s.done) == (4, 4)
    assert bench.events == [ev.Seen(4, 4), ev.Done(None, 4, NOW)]


def test_with_no_worker_left_every_job_fails_with_the_setups_error():
    bench = Bench()
    waiting = bench.job([1, 2])
    setup = Failure(None, "", "setup", "ImportError", "no module named gpu", "tb", 0)
    bench.book.fail_everything(setup)
    later = bench.job([3])
    for job in (waiting, later):
        (raised, end) = outcomes(job)
        assert raised[0] == ERROR and "no module named gpu" in str(raised[1])
        assert end == END
    assert bench.book.stats.cancelled == 3 and bench.accounted()


def test_a_worker_failure_is_recorded_and_posted():
    bench = Bench()
    failure = bench.book.worker_failure(2, 1234, "teardown", error("closing"))
    assert bench.book.record.worker_failures == [failure] and failure.worker == 2
    assert bench.events == [ev.WorkerFail(2, 1234, "teardown", failure.error,
                             failure.traceback, NOW)]


def test_the_run_record_keeps_runs_up_to_its_bound_then_counts_them(monkeypatch):
    monkeypatch.setattr(book_module, "MAX_RUNS", 2)
    bench = Bench(chunksize=1)
    job = Job(0, 0, [7, 8, 9], 3, None)
    job.where = [10, 11, 12]  # a journaled map: the positions in the whole input
    bench.book.start_job(job)
    for _ in range(3):
        bench.finish(bench.take(), worker=1)
    record = bench.book.record
    assert record.positions == {1: [10, 11, 12]} and record.runs_dropped == 1
    assert record.runs[0] == (1, 0, 0, 1, 1, 0.0, NOW, 1, "7", {})


def test_runs_between_skips_the_given_offsets():
    assert list(runs_between(5, {1, 2})) == [(0, 1), (3, 5)]
    assert list(runs_between(3, set())) == [(0, 3)]
    assert list(runs_between(2, {0, 1})) == []
