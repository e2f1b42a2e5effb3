"""The journal: finished items written down as they finish, so a re-run can skip them.

A journal is a JSON-lines file, append-only. Each map call of a pool (1st, 2nd, …) writes
one header line with its fingerprint (a hash of the function and of the input's start),
then one line per item that finished well: its position and its result (pickled, in
base64). Lines are flushed as they are written and fsync'd in batches (every
`SYNC_EVERY` seconds and at the end), so a parent killed mid-run loses at most the last
batch; a torn last line is ignored on reading.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
from pathlib import Path

from . import wire

SYNC_EVERY = 0.5  # seconds between fsyncs
FINGERPRINT_ITEMS = 1000  # items of the input that go into the fingerprint


def fingerprint(payload: bytes, head: list, length: int | None) -> str:
    """A hash of the function (its pickled form) and of the input's first items."""
    digest = hashlib.sha256(payload)
    digest.update(repr(length).encode())
    for item in head:
        try:
            digest.update(wire.dumps(item))
        except Exception:
            digest.update(repr(item).encode())
    return digest.hexdigest()[:16]


class Journal:
    """One journal file, shared by the map calls of one pool."""

    def __init__(self, path, resume: str | bool = True):
        path = Path(path)
        if path.is_dir():
            path = path / "journal.jsonl"
        if resume not in (True, False, "force"):
            raise ValueError(f"resume={resume!r}: give True (skip what the journal has), "
                             "False (start the journal afresh) or 'force' (reuse it even "
                             "if the function or input changed)")
        self.path = path
        self.resume = resume
        self.maps: dict[int, dict] = {}  # map number -> {"fingerprint": …, "done": {pos: bytes}}
        if resume and path.exists():
            self._read()
        elif path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        self._synced = time.monotonic()

    def _read(self) -> None:
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash: that item runs again
                number = entry.get("map")
                if "fingerprint" in entry:
                    self.maps.setdefault(number, {"done": {}})["fingerprint"] = entry["fingerprint"]
                elif "i" in entry:
                    self.maps.setdefault(number, {"done": {}})["done"][entry["i"]] = entry["r"]

    def begin(self, number: int, print_: str) -> dict:
        """Start map `number` with fingerprint `print_`: {position: result} already done."""
        known = self.maps.get(number)
        if known and known.get("fingerprint") not in (None, print_) and self.resume != "force":
            raise ValueError(
                f"the journal {self.path} was written by a different function or input for "
                f"map #{number} (fingerprint {known['fingerprint']}, now {print_}): delete "
                "it, give another journal, or pass resume='force' to reuse it anyway")
        if not known or known.get("fingerprint") != print_:
            self._write({"map": number, "fingerprint": print_})
        done = (known or {}).get("done", {})
        return {int(position): wire.loads(base64.b64decode(blob))
                for position, blob in done.items()}

    def record(self, number: int, position: int, values: list, skip=()) -> None:
        """Write down the results of items `position`, `position + 1`, …"""
        for offset, value in zip(itertools.count(), values):
            if offset in skip:
                continue
            blob = base64.b64encode(wire.dumps(value)).decode("ascii")
            self._file.write(json.dumps({"map": number, "i": position + offset, "r": blob}) + "\n")
        self._file.flush()
        if time.monotonic() - self._synced >= SYNC_EVERY:
            self.sync()

    def _write(self, entry: dict) -> None:
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    def sync(self) -> None:
        os.fsync(self._file.fileno())
        self._synced = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()
