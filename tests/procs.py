"""What the fault tests read in /proc: whether a process runs, this process's children
and a process's descendants (multiprocess's resource tracker left out: it is not the
pool's, and outlives it by design), and the pool's threads."""

import os
import threading


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def _parents() -> dict:
    """{pid: parent pid} of every live process but resource trackers."""
    parents = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline") as f:
                cmd = f.read()
        except OSError:
            continue
        if fields[0] not in "ZX" and "resource_tracker" not in cmd:
            parents[int(name)] = int(fields[1])
    return parents


def children() -> list:
    """Pids of this process's live children."""
    me = os.getpid()
    return sorted(pid for pid, parent in _parents().items() if parent == me)


def descendants(root: int) -> list:
    """Pids of the live descendants of `root`."""
    parents, found = _parents(), []
    for pid in parents:
        up = pid
        while up in parents and up != root:
            up = parents[up]
        if up == root and pid != root:
            found.append(pid)
    return sorted(found)


def poolbars_threads() -> set:
    return {t for t in threading.enumerate() if t.name.startswith("poolbars")}
