"""tqdm, brought into the panel: `pb.tqdm`, a drop-in class that needs no tqdm, and the
capture that turns the real tqdm's bars inside pool tasks into the task's inner bar.

Capture (`Pool(capture_tqdm=True)`, the default) installs an import hook in each worker:
nothing happens unless a task imports tqdm. When it does (or if tqdm was imported before,
as a script's top is), `tqdm.std.tqdm.__new__` is patched: making any tqdm bar — of
whatever class, however it was imported or bound — makes a subclass of that class that
draws nothing and reports its state instead (a class that draws its own way, as
`tqdm.notebook`'s or `tqdm.rich`'s, gives a captured `tqdm.std.tqdm`) — so every tqdm API
keeps working, and nothing is printed to the worker's stderr.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import sys
from typing import Any

from .reporting import Bar, counted



class tqdm(Bar):
    """A drop-in for `tqdm.tqdm` that shows in the panel; tqdm itself is not needed.

    Replace `from tqdm import tqdm` with `from poolbars import tqdm` in code you run in a
    pool: in a task the bar is the task's inner bar; in the main process it shows in the
    open panel, or in a panel of its own. It is a [`Bar`][poolbars.Bar], iterable like
    tqdm's. The arguments that only shape tqdm's text drawing are taken and ignored,
    so existing calls keep working. (Code that imports the real tqdm inside pool tasks
    needs no change at all: `Pool(capture_tqdm=True)`, the default, captures it.)

    Args:
        iterable: What to iterate (an iterable), or None (default) to drive the bar
            with `update()`.
        desc: The bar's label. Default None.
        total: The number of steps. Default None: `len(iterable)` when it has one.
        leave: Kept as an attribute; the panel decides what stays shown.
        file: Ignored: nothing is printed.
        ncols: Ignored (text drawing).
        mininterval: Ignored: updates are coalesced to ~10 a second.
        maxinterval: Ignored, as `mininterval`.
        miniters: Ignored, as `mininterval`.
        ascii: Ignored (text drawing).
        disable: True: no bar at all; iterating gives the items as they are. Default
            False.
        unit: The unit shown with its rate. Default `"it"`.
        unit_scale: Ignored (text drawing).
        dynamic_ncols: Ignored (text drawing).
        smoothing: Ignored: the panel computes rates itself.
        bar_format: Ignored (text drawing).
        initial: The count to start from. Default 0.
        position: Ignored: each bar has its own lane.
        postfix: A dict of `key=value` pairs to show beside the bar (or one value).
            Default None.
        **kwargs: Any other tqdm option, ignored.

    Raises:
        TypeError: `total` is not a number or None (unless `disable`).

    Example:
        ```python
        import poolbars as pb

        def work(n):
            for _ in pb.tqdm(range(n), desc="inner", unit="row"):
                pass
            return n

        with pb.Pool(2) as pool:
            print(pool.map(work, [5, 10]))  # [5, 10]
        ```
    """

    def __init__(self, iterable: Any = None, desc: str | None = None,
                 total: float | None = None, leave: bool = True, file: Any = None,
                 ncols: int | None = None, mininterval: float = 0.1,
                 maxinterval: float = 10.0, miniters: float | None = None,
                 ascii: bool | str | None = None, disable: bool = False, unit: str = "it",
                 unit_scale: bool | float = False, dynamic_ncols: bool = False,
                 smoothing: float = 0.3, bar_format: str | None = None, initial: float = 0,
                 position: int | None = None, postfix: Any = None, **kwargs: Any):
        if total is None and iterable is not None:
            try:
                total = len(iterable)
            except (TypeError, AttributeError):
                total = None
        self.iterable = iterable
        self.disable = disable
        self.leave = leave
        if disable:  # like tqdm: a disabled bar only passes things through
            self.n, self.total, self.desc, self.closed = initial, total, desc or "", True
            return
        super().__init__(total, desc, unit)
        self.n = initial
        if postfix:
            self.set_postfix(postfix if isinstance(postfix, dict) else {"": postfix})

    def __iter__(self):
        if self.disable:
            return iter(self.iterable)
        return counted(self.iterable, self)

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("this bar has no total")
        return int(self.total)

    def update(self, n: float = 1) -> None:
        """Advance the bar by `n` (nothing if `disable`).

        Args:
            n: How much to add; may be fractional or negative. Default 1.
        """
        if not self.disable:
            super().update(n)

    def close(self) -> None:
        """Finish the bar (nothing if `disable`); see `Bar.close`."""
        if not self.disable:
            super().close()

    def clear(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing: the panel draws the bar, so there is no text to clear.

        Args:
            *args: Ignored (tqdm's signature).
            **kwargs: Ignored (tqdm's signature).
        """

    def set_description_str(self, desc: str | None = None, refresh: bool = True) -> None:
        """Change the bar's label, as `set_description`.

        Args:
            desc: The new label; None clears it.
            refresh: Ignored: there for tqdm's signature.
        """
        self.set_description(desc, refresh)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Show `s` beside the bar, as one text postfix ("" clears it).

        Args:
            s: The text. Default "".
            refresh: Ignored: there for tqdm's signature.
        """
        self.set_postfix({"": s} if s else {})

    @classmethod
    def write(cls, s: str, file: Any = None, end: str = "\n", nolock: bool = False) -> None:
        """Print a line, as tqdm's `write` (there is no text bar to keep clear of).

        Args:
            s: The text.
            file: Where to print. Default None: `sys.stdout`.
            end: What ends the line. Default a newline.
            nolock: Ignored (tqdm's signature).
        """
        print(s, end=end, file=file or sys.stdout)


def trange(*args: int, **kwargs: Any) -> tqdm:
    """`tqdm(range(*args), **kwargs)`: a bar over a range, as tqdm's `trange`.

    Args:
        *args: `range()`'s arguments: stop, or start, stop[, step].
        **kwargs: [`tqdm`][poolbars.tqdm]'s options (`desc`, `unit`, `disable`, …).

    Returns:
        A `pb.tqdm` over the range.

    Raises:
        TypeError: Arguments `range()` refuses, or a `tqdm` option that is not a
            number where one is expected.
        ValueError: A step of 0 (as `range()`).

    Example:
        ```python
        import poolbars as pb

        def work(n):
            return sum(i for i in pb.trange(n, desc="inner"))

        with pb.Pool(2) as pool:
            print(pool.map(work, [3, 4]))  # [3, 6]
        ```
    """
    return tqdm(range(*args), **kwargs)


class _Quiet:
    """A file that swallows what tqdm would print."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def _captured(std_tqdm: Any):
    """A subclass of the real tqdm that reports to the panel and prints nothing."""

    class CapturedTqdm(std_tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["file"] = _Quiet()
            kwargs.pop("gui", None)
            super().__init__(*args, **kwargs)
            self._pb_bar = None if self.disable else Bar(self.total, _desc(self.desc),
                                                         self.unit)
            self._pb_sync()

        def display(self, msg=None, pos=None):
            self._pb_sync()
            return True

        def close(self):
            if getattr(self, "_pb_bar", None) is not None and not self.disable:
                self._pb_sync()
                self._pb_bar.close()  # type: ignore[union-attr]  # not None: checked above
            super().close()

        def _pb_sync(self):
            bar = getattr(self, "_pb_bar", None)
            if bar is None:
                return
            bar.n, bar.total, bar.unit = self.n, self.total, self.unit
            bar.desc = _desc(self.desc)
            bar.postfix = _pairs(self.postfix)
            bar.refresh()

    CapturedTqdm.__name__, CapturedTqdm.__qualname__ = std_tqdm.__name__, std_tqdm.__qualname__
    CapturedTqdm.__module__ = std_tqdm.__module__
    CapturedTqdm._pb_captured = True  # read by capturing_new: its bars are made as they are
    return CapturedTqdm


def _desc(desc) -> str:
    desc = desc or ""
    return desc[:-2] if desc.endswith(": ") else desc


def _pairs(postfix) -> tuple:
    if not postfix:
        return ()
    pairs = []
    for part in str(postfix).split(", "):
        key, _, value = part.partition("=")
        pairs.append((key, value) if value else ("", key))
    return tuple(pairs)


class _CaptureFinder(importlib.abc.MetaPathFinder):
    """Patches `tqdm.std` right after it is first imported."""

    def find_spec(self, name, path, target=None):
        if name != "tqdm.std":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _patch(module.tqdm)
        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]  # the patch
        return spec


_captured_classes: dict[type, type] = {}  # a tqdm class -> the captured class it makes


def _patch(std_tqdm: Any) -> None:
    """Make every bar of `std_tqdm` (tqdm.std.tqdm) or of its subclasses a captured one —
    also those of classes bound before this ran (by a script's top, or in a fork's parent)."""
    if "_pb_new" in std_tqdm.__dict__:
        return
    original_new = std_tqdm.__new__
    keywords = set(inspect.signature(std_tqdm.__init__).parameters)

    def capturing_new(cls, *args, **kwargs):
        if cls.__dict__.get("_pb_captured"):
            return original_new(cls, *args, **kwargs)
        captured = _captured_for(cls, std_tqdm)
        if issubclass(captured, cls):  # Python then runs captured.__init__ on it
            return original_new(captured, *args, **kwargs)
        # a class that draws its own way: a captured std bar, without that class's options
        return captured(*args, **{k: v for k, v in kwargs.items() if k in keywords})
    std_tqdm._pb_new = original_new
    std_tqdm.__new__ = staticmethod(capturing_new)


def _captured_for(cls: type, std_tqdm: Any) -> type:
    """The captured class a bar of `cls` is made as (made once per class)."""
    if cls not in _captured_classes:
        own = cls.__mro__[:cls.__mro__.index(std_tqdm)]
        base = std_tqdm if any("display" in k.__dict__ for k in own) else cls
        if base not in _captured_classes:
            _captured_classes[base] = _captured(base)
        _captured_classes[cls] = _captured_classes[base]
    return _captured_classes[cls]


def install_capture() -> None:
    """In this process, make tqdm bars report to the panel (see the module doc)."""
    if any(isinstance(f, _CaptureFinder) for f in sys.meta_path):
        return
    if "tqdm.std" in sys.modules:  # already imported (by the script's top, or the parent)
        _patch(sys.modules["tqdm.std"].tqdm)
    sys.meta_path.insert(0, _CaptureFinder())
