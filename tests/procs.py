"""What the fault tests read in /proc: whether a process runs, this process's children
and a process's descendants (multiprocess's resource tracker left out: it is not the
pool's, and outlives it by design; so is the warm fork server a process keeps between its
pools, a direct child of it: `fork_servers()` finds those, and test_forkserver.py checks
that `pb.shutdown()` and the exit stop them), and the pool's threads."""

import os
import threading


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


FORK_SERVER = "multiprocess.forkserver import main"  # in the fork server's command line


def _parents(servers: dict | None = None) -> dict:
    """{pid: parent pid} of every live process but resource trackers; the fork servers'
    {pid: parent pid} go in `servers` too."""
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
            if servers is not None and FORK_SERVER in cmd:
                servers[int(name)] = int(fields[1])
    return parents


def fork_servers(parent: int) -> list:
    """Pids of the live fork servers `parent` started."""
    servers: dict = {}
    _parents(servers)
    return sorted(pid for pid, up in servers.items() if up == parent)


def children() -> list:
    """Pids of this process's live children."""
    me, servers = os.getpid(), {}
    return sorted(pid for pid, parent in _parents(servers).items()
                  if parent == me and servers.get(pid) != me)


def descendants(root: int) -> list:
    """Pids of the live descendants of `root`."""
    servers: dict = {}
    parents, found = _parents(servers), []
    for pid in parents:
        if servers.get(pid) == root:
            continue  # the warm fork server of `root` (its workers still count)
        up = pid
        while up in parents and up != root:
            up = parents[up]
        if up == root and pid != root:
            found.append(pid)
    return sorted(found)


def poolbars_threads() -> set:
    return {t for t in threading.enumerate() if t.name.startswith("poolbars")}
