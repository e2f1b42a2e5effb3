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
    """A drop-in for `tqdm.tqdm` that shows in the panel (in a pool task: as the task's
    inner bar; in the main process: in a panel of its own). tqdm is not needed."""

    def __init__(self, iterable=None, desc=None, total=None, leave=True, file=None,
                 ncols=None, mininterval=0.1, maxinterval=10.0, miniters=None, ascii=None,
                 disable=False, unit="it", unit_scale=False, dynamic_ncols=False,
                 smoothing=0.3, bar_format=None, initial=0, position=None, postfix=None,
                 **kwargs):
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
        if not self.disable:
            super().update(n)

    def close(self) -> None:
        if not self.disable:
            super().close()

    def clear(self, *args, **kwargs) -> None:
        """Nothing to clear: the panel draws the bar."""

    def set_description_str(self, desc=None, refresh=True) -> None:
        self.set_description(desc, refresh)

    def set_postfix_str(self, s="", refresh=True) -> None:
        self.set_postfix({"": s} if s else {})

    @classmethod
    def write(cls, s, file=None, end="\n", nolock=False) -> None:
        print(s, end=end, file=file or sys.stdout)


def trange(*args, **kwargs) -> tqdm:
    """`tqdm(range(*args), **kwargs)`."""
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
