"""tqdm, brought into the panel: `pb.tqdm`, a drop-in class that needs no tqdm, and the
capture that turns the real tqdm's bars inside pool tasks into the task's inner bar.

Capture (`Pool(capture_tqdm=True)`, the default) installs an import hook in each worker:
nothing happens unless a task imports tqdm. When it does, `tqdm.std.tqdm` is replaced by
a subclass that draws nothing and reports its state instead, and `tqdm.tqdm`,
`tqdm.auto.tqdm`, `tqdm.autonotebook.tqdm` and `tqdm.notebook.tqdm` point to it — so
every tqdm API keeps working, and nothing is printed to the worker's stderr.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

from .reporting import Bar, counted

_PATCHED = ("tqdm.std", "tqdm", "tqdm.auto", "tqdm.autonotebook", "tqdm.notebook")


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

    CapturedTqdm.__name__ = CapturedTqdm.__qualname__ = "tqdm"
    CapturedTqdm.__module__ = "tqdm.std"
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
    """Patches tqdm's modules right after they are first imported."""

    def find_spec(self, name, path, target=None):
        if name not in _PATCHED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _patch(module)
        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]  # the patch
        return spec


_captured_class = None


def _patch(module) -> None:
    global _captured_class
    if module.__name__ == "tqdm.std" and _captured_class is None:
        _captured_class = _captured(module.tqdm)
    if _captured_class is None:
        return
    for attr in ("tqdm", "tqdm_notebook"):
        if hasattr(module, attr):
            setattr(module, attr, _captured_class)
    if hasattr(module, "trange"):
        module.trange = lambda *args, **kwargs: _captured_class(range(*args), **kwargs)


def install_capture() -> None:
    """In this process, make tqdm bars report to the panel (see the module doc)."""
    if any(isinstance(f, _CaptureFinder) for f in sys.meta_path):
        return
    if "tqdm.std" in sys.modules:  # already imported: patch what is there
        for name in _PATCHED:
            if name in sys.modules:
                _patch(sys.modules[name])
    sys.meta_path.insert(0, _CaptureFinder())
