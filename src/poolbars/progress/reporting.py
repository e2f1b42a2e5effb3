"""Task-side reporting: `track()`, `bar()`, `message()`, and the coalescing `Reporter`.

These work in any process. In a pool worker they report to the pool's panel through the
channel; in the main process they report to the panel that is open (a `Pool`'s), or
open a panel of their own for as long as the outermost bar lives.

The hot path is the user's loop, so:
- `track()` over a range, list, tuple, dict, set, str or bytes hands the iterator itself
  to the loop (behind one `chain`), and the reporter's timer thread reads how far it got
  from its exact length hint; any other iterable goes through `itertools` slices at C
  speed, with Python code only between slices, sized so the clock is read ~50 times a
  second;
- `Bar.update()` compares one counter; the clock is read only every `stride` units;
- the reporter keeps the latest state of each bar and sends at most one batch per
  `interval` (0.1 s); a task's end flushes what is left, so the last value always arrives.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import threading
import time
import warnings
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..panel import panels
from ..panel.limits import MAX_META
from ..protocol import events as ev

SEND_INTERVAL = 0.1  # seconds between batches: the ~10 sends/s per process
CHECK_INTERVAL = 0.02  # seconds between clock reads inside a fast loop

_ids = itertools.count(1)
_reporter: Reporter | None = None  # this process's reporter, when one is installed
_local = threading.local()  # a reporter for one thread only (tasks on Dask's threads)


class Reporter:
    """Collects bar states and messages from one process, sends them in batches."""

    def __init__(self, sink: Callable[[list], None], source, interval: float = SEND_INTERVAL,
                 clock: Callable[[], float] = time.monotonic, flush_on_close: bool = False):
        self.sink = sink
        self.flush_on_close = flush_on_close  # no task end will flush: send a bar's end now
        self.source = source
        self.interval = interval
        self.clock = clock
        self.task: int | None = None  # index of the item being run, set by the worker loop
        self._bars: dict = {}  # bar id -> Bar with state not sent yet
        self._messages: dict = {}  # task -> latest text not sent yet
        self._last_send = -float("inf")
        self._lock = threading.Lock()
        self._sending = threading.Lock()  # held from take to send: batches leave in order
        self._broken = False
        self._stopped = threading.Event()
        self._timer: threading.Thread | None = None
        self._watched: dict = {}  # bar id -> (bar, how far it got): read by the timer

    def post(self, bar: Bar) -> None:
        """Note that `bar` changed; send if the interval has passed."""
        with self._lock:  # the timer thread may be taking the pending updates right now
            self._bars[bar.id] = bar
        self.maybe_send()

    def message(self, text: str) -> None:
        with self._lock:
            self._messages[self.task] = str(text)
        self.maybe_send()

    def maybe_send(self) -> None:
        if self.clock() - self._last_send >= self.interval:
            self.flush()

    def start_timer(self) -> None:
        """Send held updates within ~`interval` even if the task makes no further calls
        (a message before a long phase, a bar left at its last value)."""
        self._timer = threading.Thread(target=self._send_held, name="poolbars-reporter",
                                       daemon=True)
        self._timer.start()

    def stop_timer(self) -> None:
        self._stopped.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None

    @property
    def timed(self) -> bool:
        """True if a timer thread sends held updates (and reads watched bars)."""
        return self._timer is not None

    def watch(self, bar: Bar, progress: Callable[[], float]) -> None:
        """Have the timer thread set `bar.n = progress()` every interval, so the loop
        that advances it runs no code of ours at all."""
        with self._lock:
            self._watched[bar.id] = (bar, progress)

    def unwatch(self, bar: Bar) -> None:
        """Stop reading `bar`; once this returns, the timer will not touch it again."""
        with self._lock:
            self._watched.pop(bar.id, None)

    def _send_held(self) -> None:
        while not self._stopped.wait(self.interval) and not self._broken:
            if self._watched:
                self._read_watched()
            if (self._bars or self._messages) and self.clock() - self._last_send >= self.interval:
                self.flush()

    def _read_watched(self) -> None:
        with self._lock:
            for bar, progress in self._watched.values():
                n = progress()
                if n != bar.n:
                    bar.n = n
                    self._bars[bar.id] = bar

    def take(self) -> list[tuple[Any, ...]]:
        """The pending events (in their wire form), now, without sending them (the worker loop hands a task's
        last events to the parent with its result instead), once a batch in flight is sent."""
        with self._sending:
            return self._take()

    def _take(self) -> list[tuple[Any, ...]]:
        with self._lock:
            if not self._bars and not self._messages:
                return []
            bars, self._bars = self._bars, {}
            messages, self._messages = self._messages, {}
            now = time.time()
            events: list[ev.Event] = [bar.event(self.source, now) for bar in bars.values()]
        events += [ev.Message(self.source, task, text) for task, text in messages.items()]
        return [ev.wire(event) for event in events]  # a batch may cross the wire: plain tuples

    def flush(self) -> None:
        """Send everything pending now, as one batch."""
        # one flush at a time (the timer's, the task's): a batch taken later never
        # overtakes one still being sent, so a bar's last state arrives last
        with self._sending:
            batch = self._take()
            if not batch or self._broken:
                return
            self._last_send = self.clock()
            try:
                self.sink(batch)
            except Exception as exc:  # a panel that went away must never break the user's job
                self._broken = True
                warnings.warn(f"poolbars: progress could not be reported ({exc!r}); "
                              "the task goes on without it.", RuntimeWarning, stacklevel=2)


class Bar:
    """A progress bar driven by hand: what `pb.bar()` returns.

    Inside a pool task it is the task's inner bar on its worker's lane; in the main
    process it shows in the open panel (a pool's or a `Panel`'s), or in a panel of its
    own that closes with the bar. Advance it with `update(n)`; `set_description()`,
    `set_postfix()`, `reset()` as in tqdm; `close()` it, or use it as a context
    manager. Updates are coalesced: at most ~10 sends a second, and the last state
    always arrives. Usually made with [`pb.bar`][poolbars.bar] (or a `Remote`'s
    `bar()`), rather than directly.

    Args:
        total: The number of steps, an int or float; None (default) for an open-ended
            bar.
        desc: The bar's label. Default None: no label.
        unit: The unit shown with its rate. Default `"it"`.
        reporter: Where it reports. Default None: this process's (a pool worker's, the
            open panel's, or a panel opened for this bar).
        meta: A dict of at most 20 str keys with JSON-able values, shown on hover and
            kept in `report()` as the task's `meta`. Default None.

    Raises:
        TypeError: `total` is not a number or None; or, of `meta`, not a dict, a key
            that is not a str, or a value JSON cannot write.
        ValueError: `meta` has more than 20 keys.

    Example:
        ```python
        import poolbars as pb

        bar = pb.Bar(total=3, desc="steps")
        bar.update(2)
        print(bar)  # <poolbars.Bar 'steps' 2/3 it>
        bar.close()
        ```
    """

    def __init__(self, total: float | None = None, desc: str | None = None, unit: str = "it",
                 *, reporter: Reporter | None = None, meta: dict | None = None):
        if total is not None and not isinstance(total, (int, float)):
            raise TypeError(f"total must be a number or None, not {type(total).__name__}: "
                            "pass the number of steps, or leave it out for an open-ended bar")
        self.meta = meta_pairs(meta)  # checked and encoded once: sent with every state
        self.id = next(_ids)
        self.n: float = 0
        self.total = total
        self.desc = "" if desc is None else str(desc)
        self.unit = str(unit)
        self.postfix: tuple = ()
        self.closed = False
        self._own_panel: panels.OpenPanel | None = None  # opened for this bar: closed with it
        if reporter is None:
            reporter, self._own_panel = _reporter_for_this_process(self.desc)
        self.reporter: Reporter = reporter
        self.task = reporter.task
        self._check_at: float = 1  # the next count at which update() reads the clock
        self._last_check: tuple[float, float] = (reporter.clock(), 0)
        reporter.post(self)

    def event(self, source: ev.Source, t: float) -> ev.BarUpdate:
        """The bar's state as a panel event: what its reporter sends (used by poolbars).

        Args:
            source: The lane it reports from (a worker's number, or a process's name).
            t: The time of the state, as `time.time()`.

        Returns:
            The event, with the bar's count, total, label, postfix, meta and whether it
                is closed.
        """
        return ev.BarUpdate(source, self.id, self.task, self.desc, self.n, self.total,
                            self.unit, self.postfix, self.closed, t, self.meta)

    def update(self, n: float = 1) -> None:
        """Advance the bar by `n`.

        Cheap enough to call per item of a fast loop: it compares one counter and reads
        the clock only now and then.

        Args:
            n: How much to add; may be fractional or negative. Default 1.
        """
        try:
            self.n += n
        except OverflowError:  # an int past the float range plus a float: no number
            self.n = math.nan
        if self.n >= self._check_at:  # check the counter first: most calls stop here
            self._tick()

    def _tick(self) -> None:
        now = self.reporter.clock()
        t0, n0 = self._last_check
        try:
            rate = (self.n - n0) / (now - t0) if now > t0 else 0.0
            step = max(1, int(rate * CHECK_INTERVAL))
        except (OverflowError, ValueError):  # a huge, infinite or NaN count: check often
            step = 1
        self._check_at = self.n + step
        self._last_check = (now, self.n)
        self.reporter.post(self)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Change the bar's label.

        Args:
            desc: The new label (shown as its `str()`); None clears it. Default None.
            refresh: Ignored: there for tqdm's signature (the panel redraws by itself).
        """
        self.desc = "" if desc is None else str(desc)
        self.reporter.post(self)

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None,
                    refresh: bool = True, **values: Any) -> None:
        """Show `key=value` pairs beside the bar, replacing those shown before.

        Args:
            ordered_dict: A dict (or mapping) of pairs. Default None.
            refresh: Ignored: there for tqdm's signature.
            **values: More pairs, as keyword arguments. Values are shown as text.
        """
        pairs = dict(ordered_dict or {}, **values)
        self.postfix = tuple((str(k), _short(v)) for k, v in pairs.items())
        self.reporter.post(self)

    def refresh(self) -> None:
        """Send the bar's state with the next batch (after changing its fields by hand)."""
        self.reporter.post(self)

    def reset(self, total: float | None = None) -> None:
        """Start the count again from 0, as tqdm's `reset`.

        Args:
            total: A new total. Default None: keep the current one.
        """
        self.n = 0
        self._check_at = 1
        if total is not None:
            self.total = total
        self.reporter.post(self)

    def close(self) -> None:
        """Finish the bar: its final state is sent with the next batch.

        At the latest when the task ends; a bar with a panel of its own closes that
        panel. Closing twice does nothing; `with` closes it for you.
        """
        if self.closed:
            return
        self.closed = True
        self.reporter.post(self)
        if self.reporter.flush_on_close:
            self.reporter.flush()
        if self._own_panel is not None:
            self.reporter.flush()
            self._own_panel.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        total = "?" if self.total is None else _short(self.total)
        return f"<poolbars.Bar {self.desc!r} {_short(self.n)}/{total} {self.unit}>"


class Tracked:
    """An iterable that reports its progress as it is iterated (see `track`)."""

    def __init__(self, iterable: Iterable, total=None, desc=None, unit="it", reporter=None,
                 meta: dict | None = None):
        meta_pairs(meta)  # a bad meta fails here, at the call, not when iterated
        if total is None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except (TypeError, AttributeError):
                total = None
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.reporter = reporter
        self.meta = meta

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("this tracked iterable has no known length; pass total=")
        return int(self.total)

    def __iter__(self):
        return counted(self.iterable, Bar(self.total, self.desc, self.unit,
                                          reporter=self.reporter, meta=self.meta))


def counted(iterable: Iterable, bar: Bar) -> Iterator:
    """The items of `iterable`, counted into `bar`, which is closed at the end."""
    it = iter(iterable)
    watched = type(it) in _EXACT_HINT and bar.reporter.timed
    return itertools.chain.from_iterable((_whole if watched else _slices)(it, bar))


def _whole(it, bar: Bar):
    """Yield `it` itself, once, and count what the consumer took by what `it` has left
    (its length hint is exact): the reporter's timer reads it every interval, so nothing
    of ours runs per item or per slice."""
    base, left = bar.n, operator.length_hint(it)

    def progress():
        return base + left - operator.length_hint(it)

    bar.reporter.watch(bar, progress)
    try:
        yield it
    finally:  # also when the consumer stopped early
        bar.reporter.unwatch(bar)
        bar.n = progress()
        bar.close()


def _slices(it, bar: Bar):
    """Yield `it` in slices of adaptive size and count what the consumer took.

    No Python code of ours runs per item: `chain` hands the items of each `islice` through
    at C speed, and this generator runs only between slices. Counting stays exact even when
    the loop breaks inside a slice: iterators whose `__length_hint__` is exact (range,
    list, tuple, dict, set, str, bytes) are counted by what they have left; any other
    iterator goes through `compress(…, count(1))`, whose counter advances once per item
    handed out (~10x the cost of the first way, still a fraction of tqdm's).
    """
    exact = type(it) in _EXACT_HINT
    left = operator.length_hint(it) if exact else 0
    islice, compress, count = itertools.islice, itertools.compress, itertools.count
    clock = time.perf_counter
    reporter = bar.reporter
    base, k = bar.n, 1
    counter = None
    try:
        while True:
            started = clock()
            if exact:
                yield islice(it, k)
                remaining = operator.length_hint(it)
                bar.n = base + left - remaining
                if remaining == 0:
                    return
            else:
                counter = count(1)
                yield compress(islice(it, k), counter)
                taken = next(counter) - 1
                counter = None
                bar.n += taken
                if taken < k:
                    return  # the iterable is exhausted
            spent = clock() - started
            # aim for one clock read per CHECK_INTERVAL; grow or shrink by at most 4x
            k = max(1, min(k * 4, int(k * CHECK_INTERVAL / spent) if spent > 0 else k * 4,
                           _MAX_SLICE))
            reporter.post(bar)
    finally:
        if exact:  # also right when the consumer stopped inside a slice
            bar.n = base + left - operator.length_hint(it)
        elif counter is not None:
            bar.n += next(counter) - 1
        bar.close()


# iterator types whose __length_hint__ is exactly the number of items left
_EXACT_HINT = frozenset(type(iter(x)) for x in (  # type: ignore[var-annotated]  # types only
    range(0), range(1 << 64), [], reversed([]), (), {}, {}.values(), {}.items(), set(),
    frozenset(), "", "\u20ac", b"", bytearray()))
_MAX_SLICE = 1 << 20


def track(iterable: Iterable, total: float | None = None, desc: str | None = None,
          unit: str = "it", meta: dict | None = None) -> Tracked:
    """Iterate `iterable` and show its progress as a bar.

    Inside a pool task it is the task's inner bar; in the main process it shows in the
    open panel, or in a panel of its own while the loop runs. Use it where you would
    use tqdm: it runs no Python code per item for ranges, lists, tuples, dicts, sets,
    strs and bytes (a timer reads how far the loop got), and little for other
    iterables. The count stays exact when the loop breaks early, and the bar closes at
    the loop's end.

    Args:
        iterable: What to iterate.
        total: The number of items, an int or float. Default None: `len(iterable)`
            when it has one, else an open-ended bar.
        desc: The bar's label. Default None: no label.
        unit: The unit shown with its rate. Default `"it"`.
        meta: A dict of at most 20 str keys with JSON-able values, shown on hover and
            kept in `report()`. Default None.

    Returns:
        An iterable of the same items (with `len()` when its total is known).

    Raises:
        TypeError: `meta` is not a dict, has a key that is not a str, or a value JSON
            cannot write.
        ValueError: `meta` has more than 20 keys.
        TypeError: A `total` that is not a number (raised when the iteration starts).

    Example:
        ```python
        import poolbars as pb

        def total_of(n):
            return sum(pb.track(range(n), desc=f"sum to {n}"))

        with pb.Pool(2) as pool:
            print(pool.map(total_of, [10, 100]))  # [45, 4950]
        ```
    """
    return Tracked(iterable, total=total, desc=desc, unit=unit, meta=meta)


def bar(total: float | None = None, desc: str | None = None, unit: str = "it",
        meta: dict | None = None) -> Bar:
    """A progress bar to drive by hand with `update(n)`; close it (or use `with`).

    For progress that is not a loop over one iterable (bytes downloaded, phases of
    work). Inside a pool task it is the task's inner bar; in the main process it shows
    in the open panel, or in a panel of its own until it closes.

    Args:
        total: The number of steps, an int or float; None (default) for an open-ended
            bar.
        desc: The bar's label. Default None: no label.
        unit: The unit shown with its rate. Default `"it"`.
        meta: A dict of at most 20 str keys with JSON-able values, shown on hover over
            the lane and kept in `report()` as the task's `meta`. Default None.

    Returns:
        A [`Bar`][poolbars.Bar].

    Raises:
        TypeError: `total` is not a number or None; or, of `meta`, not a dict, a key
            that is not a str, or a value JSON cannot write.
        ValueError: `meta` has more than 20 keys.

    Example:
        ```python
        import poolbars as pb

        def fetch(parts):
            with pb.bar(total=parts, desc="fetch", unit="part", meta={"parts": parts}) as b:
                for _ in range(parts):
                    b.update(1)
            return parts

        with pb.Pool(2) as pool:
            print(pool.map(fetch, [3, 5]))  # [3, 5]
        ```
    """
    return Bar(total, desc, unit, meta=meta)


def meta_pairs(meta: dict | None) -> tuple[tuple[str, str], ...]:
    """A bar's `meta` as (key, JSON text) pairs, checked: a dict of at most MAX_META
    str keys whose values JSON can write."""
    if meta is None:
        return ()
    if not isinstance(meta, dict):
        raise TypeError(f"meta={meta!r}: give a dict of JSON-able values, or None")
    if len(meta) > MAX_META:
        raise ValueError(f"meta has {len(meta)} keys: give at most {MAX_META} (it is shown "
                         "on hover; keep bulky data elsewhere)")
    pairs = []
    for key, value in meta.items():
        if not isinstance(key, str):
            raise TypeError(f"meta key {key!r}: give str keys (JSON objects have only those)")
        try:
            pairs.append((key, json.dumps(value, allow_nan=False)))
        except (TypeError, ValueError, RecursionError):
            raise TypeError(f"meta[{key!r}]={_short(value)}: give a JSON-able value (str, "
                            "number, bool, None, or lists and dicts of them)") from None
    return tuple(pairs)


def message(text: str) -> None:
    """Show `text` as the current task's status message, on its lane.

    Use it to say which phase a task is in ("loading", "writing"). Inside a pool task it
    shows on the task's lane until the next message or the task's end; in the main
    process, in the open panel (or a panel of its own, for a moment).

    Args:
        text: The message (shown as its `str()`).

    Example:
        ```python
        import poolbars as pb

        def work(x):
            pb.message("loading")
            data = list(range(x))
            pb.message("adding up")
            return sum(data)

        with pb.Pool(2) as pool:
            print(pool.map(work, [3, 4]))  # [3, 6]
        ```
    """
    reporter, own_panel = _reporter_for_this_process("")
    reporter.message(text)
    if own_panel is not None:
        reporter.flush()
        own_panel.close()


def install(reporter: Reporter | None, thread_only: bool = False) -> None:
    """Make `reporter` this process's reporter (done by the worker loop), or only this
    thread's (for tasks that share a process with others, as on Dask's workers)."""
    global _reporter
    if thread_only:
        _local.reporter = reporter
    else:
        _reporter = reporter


def current() -> Reporter | None:
    return getattr(_local, "reporter", None) or _reporter


def _reporter_for_this_process(title: str) -> tuple[Reporter, panels.OpenPanel | None]:
    """(reporter, panel to close when done): the installed reporter (a worker's), else
    the innermost open panel's, else that of a panel opened now, of its own."""
    installed = current()
    if installed is not None:
        return installed, None
    innermost = panels.THIS_PROCESS.innermost()
    if innermost is not None:
        return innermost.reporter, None
    own = panels.THIS_PROCESS.open_own(title)
    return own.reporter, own


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    try:
        text = str(value)
    except Exception:  # e.g. an int of more digits than str() allows: never fail the task
        return f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= 80 else text[:79] + "…"
