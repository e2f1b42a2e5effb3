"""The journal: finished items written down as they finish, so a re-run can skip them.

A journal is a JSON-lines file, append-only. Each map call of a pool (1st, 2nd, …) writes
one header line, {"map": n, "fingerprint": f}, where f hashes the function and the
input's length; then one line per item that finished well, {"map": n, "i": position,
"h": digest of the item, "r": result pickled, in base64}. Both hashes are the same in
every interpreter run (`canonical`): sets and dicts go in a sorted order, code objects
without their file name and line numbers, and nothing depends on hash seeds or object ids.

A re-run reads its input lazily (`JournaledInput`): an item the journal holds is checked
against the digest its record was written for, so a change to any item is seen, also in
a generator. Lines are flushed as they are written and fsync'd in batches (every
`SYNC_EVERY` seconds and at the end), so a parent killed mid-run loses at most the last
batch; the line it tore is left out with a warning and cut off, never glued to the next
record. Any other damaged line is an error naming the file and the line.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import pickle
import time
import types
import warnings
from pathlib import Path
from typing import Callable, Iterable

from ..options import RESUME, RESUME_FIX, check_choice, check_path
from ..protocol import wire

SYNC_EVERY = 0.5  # seconds between fsyncs
_PLAIN = {int, float, str, bytes, bool, type(None)}  # pickled the same way in every run


# -- hashes that are the same in every run ----------------------------------------------

def _code(*fields):
    """Stands for a code object in a canonical pickle (which is hashed, never loaded)."""
    raise TypeError("a canonical pickle is for hashing only")


def _in_order(values: list, key=lambda value: value) -> list:
    """`values` sorted the same way in every run, whatever their hash order was."""
    keys = [key(value) for value in values]
    if all(type(k) is str for k in keys) or all(type(k) is int for k in keys):
        return [value for _, value in sorted(zip(keys, values), key=lambda pair: pair[0])]
    return [value for _, value in sorted(zip(map(canonical, keys), values),
                                         key=lambda pair: pair[0])]


class _Canonical(wire.Pickler):
    """dill (modules by reference), with sets and dicts in a sorted order and code
    objects without where they were compiled (a notebook cell's file is named after its
    kernel's pid; a line added above a function moves it)."""

    dispatch = wire.Pickler.dispatch.copy()

    def reducer_override(self, obj):
        if isinstance(obj, (set, frozenset)):
            return type(obj), (_in_order(list(obj)),), getattr(obj, "__dict__", None) or None
        if type(obj) is types.CodeType:
            return _code, (obj.co_argcount, obj.co_posonlyargcount, obj.co_kwonlyargcount,
                           obj.co_flags, obj.co_code, obj.co_consts, obj.co_names,
                           obj.co_varnames, obj.co_freevars, obj.co_cellvars, obj.co_name,
                           getattr(obj, "co_qualname", ""),
                           getattr(obj, "co_exceptiontable", b""))
        return NotImplemented

    def _batch_setitems(self, items, *rest):  # every dict, also a function's globals
        return super()._batch_setitems(iter(_in_order(list(items), lambda kv: kv[0])), *rest)


def canonical(obj) -> bytes:
    """`obj` pickled the same way in every interpreter run (for hashing only)."""
    buffer = io.BytesIO()
    _Canonical(buffer, protocol=pickle.HIGHEST_PROTOCOL, recurse=True).dump(obj)
    return buffer.getvalue()


def _digest(*parts: bytes) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def fingerprint(fn, call: int, length: int | None) -> str:
    """A hash of the function, of how it is called and of the input's length."""
    try:
        payload = canonical(fn)
    except Exception:  # e.g. a cycle through a set: as it is sent, stable or not
        payload = wire.dill_dumps(fn)
    return _digest(payload, repr((call, length)).encode())


def item_digest(item) -> str:
    """A hash of one item of the input, the same in every run."""
    try:
        form = _plain(item)
    except (_NotPlain, RecursionError):
        try:
            return _digest(b"C", canonical(item))
        except Exception:  # it cannot be sent either; its type is all we can tell apart
            kind = type(item)
            return _digest(b"T", f"{kind.__module__}.{kind.__qualname__}".encode())
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: equal items give equal bytes, shared or not
    pickler.dump(form)
    return _digest(b"P", buffer.getvalue())


class _NotPlain(Exception):
    pass


_TAGS: dict[type, str] = {tuple: "t", list: "l", dict: "d", set: "s", frozenset: "f"}


def _plain(obj):
    """`obj` as nested tuples of plain values, in the same order in every run (the quick
    way for plain data: a tenth of `canonical`'s cost); _NotPlain if it holds more."""
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    tag = _TAGS.get(kind)
    if tag is None:
        raise _NotPlain
    if kind is tuple or kind is list:
        return (tag, *map(_plain, obj))
    keys = obj.keys() if kind is dict else obj
    if not (all(type(k) is str for k in keys) or all(type(k) is int for k in keys)):
        raise _NotPlain  # mixed keys: canonical() orders them
    if kind is dict:
        return (tag, *((key, _plain(obj[key])) for key in sorted(obj)))
    return (tag, *sorted(obj))


# -- the file ---------------------------------------------------------------------------

class Journal:
    """One journal file, shared by the map calls of one pool."""

    def __init__(self, path, resume: str | bool = True):
        check_path("journal", path)
        check_choice("resume", resume, RESUME, RESUME_FIX)
        path = Path(path)
        if path.is_dir():
            path = path / "journal.jsonl"
        self.path = path
        self.resume = resume
        # map number -> {"fingerprint": …, "done": {position: (item digest, blob, line)}}
        self.maps: dict[int, dict] = {}
        clean = True
        if resume and path.exists():
            clean = self._read()
        elif path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        if not clean:
            self._file.write("\n")  # the last record lacks its newline: the next starts anew
        self._synced = time.monotonic()

    def _read(self) -> bool:
        """Read every record; False if the last one lacks its newline. A torn tail (lines
        a crash cut short) is cut off with a warning; another bad line is an error."""
        torn, offset, line = None, 0, b""
        with open(self.path, "rb") as f:
            for number, line in enumerate(f, 1):
                try:
                    entry = json.loads(line)
                except ValueError:
                    torn = torn or (number, offset)
                else:
                    if torn:
                        raise self._damaged(torn[0], "it is not JSON")
                    self._take(entry, number)
                offset += len(line)
        if torn is None:
            return line.endswith(b"\n") or not line
        warnings.warn(f"poolbars: {self.path}, line {torn[0]}: a line torn by a crash (its "
                      "run was killed while writing it) is left out, and its item runs again",
                      RuntimeWarning, stacklevel=2)
        with open(self.path, "r+b") as f:
            f.truncate(torn[1])
        return True

    def _take(self, entry, line: int) -> None:
        """Keep one parsed line: a map's header or an item's record."""
        if not isinstance(entry, dict) or not _whole(entry.get("map")):
            raise self._damaged(line, "it has no map number")
        known = self.maps.setdefault(entry["map"], {"fingerprint": None, "done": {}})
        if isinstance(entry.get("fingerprint"), str):
            known["fingerprint"] = entry["fingerprint"]
        elif _whole(entry.get("i")) and isinstance(entry.get("r"), str):
            known["done"][entry["i"]] = (entry.get("h"), entry["r"], line)
        else:
            raise self._damaged(line, "it is neither a map's header nor an item's record")

    def _damaged(self, line: int, why: str) -> ValueError:
        return ValueError(f"{self.path}, line {line}: {why}, so the journal is damaged; "
                          "delete it, or pass resume=False to start it afresh")

    def _foreign(self, number: int, why: str) -> ValueError:
        return ValueError(
            f"the journal {self.path} was written by a different function or input for "
            f"map #{number} ({why}): delete it, give another journal, pass resume=False "
            "to start it afresh, or resume='force' to reuse it anyway")

    def begin(self, number: int, print_: str) -> dict:
        """Start map `number` with fingerprint `print_`: what the journal holds for it,
        {position: (item digest, result blob, line)}."""
        known = self.maps.get(number, {"fingerprint": None, "done": {}})
        if known["fingerprint"] not in (None, print_) and self.resume != "force":
            raise self._foreign(number, f"fingerprint {known['fingerprint']}, now {print_}")
        if known["fingerprint"] != print_:
            self._file.write(json.dumps({"map": number, "fingerprint": print_}) + "\n")
            self._file.flush()
        return known["done"]

    def restore(self, number: int, position: int, digest: str, entry: tuple):
        """The stored result of item `position` (whose digest is `digest` now); refused if
        its record was written for another item, unless resume="force"."""
        recorded, blob, line = entry
        if recorded != digest and self.resume != "force":
            raise self._foreign(number, f"item {position} is not the item its record, line "
                                        f"{line}, was written for")
        try:
            return wire.loads(base64.b64decode(blob, validate=True))
        except Exception as exc:
            raise ValueError(f"{self.path}, line {line}: the stored result of item "
                             f"{position} cannot be read ({exc!r}); delete the journal, or "
                             "pass resume=False to start it afresh") from exc

    def record(self, number: int, done: list) -> None:
        """Write down `done`, [(position, item digest, result)], of map `number`."""
        for position, digest, value in done:
            blob = base64.b64encode(wire.dumps(value)).decode("ascii")
            self._file.write(json.dumps({"map": number, "i": position, "h": digest,
                                        "r": blob}) + "\n")
        self._file.flush()
        if time.monotonic() - self._synced >= SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        os.fsync(self._file.fileno())
        self._synced = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# -- one map's input --------------------------------------------------------------------

class JournaledInput:
    """The input of one journaled map, read lazily (by the engine's thread): an item
    the journal holds is checked and restored into `parts`; the others go on to the
    workers, their digests kept until their results are written down."""

    def __init__(self, journal: Journal, number: int, stored: dict, iterable: Iterable,
                 restore: Callable[[int], None], parts: dict):
        self.journal = journal
        self.number = number
        self.stored = stored
        self.parts = parts  # position -> [value], also the caller's
        self.where: list[int] = []  # the input position of each item sent to the workers
        self._digests: dict[int, str] = {}
        self._input = iterable
        self._restore = restore  # counts restored items as done

    def stored_below(self, length: int) -> int:
        """How many records are for positions an input of `length` items has."""
        return sum(1 for position in self.stored if position < length)

    def __iter__(self):
        skipped = 0  # restored since the last item sent: counted in one go
        for position, item in enumerate(self._input):
            digest = item_digest(item)
            entry = self.stored.get(position)
            if entry is not None:
                value = self.journal.restore(self.number, position, digest, entry)
                self.parts[position] = [value]
                skipped += 1
                continue
            if skipped:
                self._restore(skipped)
                skipped = 0
            self._digests[position] = digest
            self.where.append(position)
            yield item
        if skipped:
            self._restore(skipped)

    def record(self, done: list) -> None:
        """Write down `done`, [(position, result)], of items that finished well."""
        if done:
            self.journal.record(self.number, [(position, self._digests.pop(position), value)
                                              for position, value in done])
