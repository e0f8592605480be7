"""Limits on one submission's processes that hold even when the grader runs as root.

The kernel ignores ``RLIMIT_NPROC`` for root, and a per-process memory limit does not see a tmpfs,
so neither can stop a fork bomb or a notebook that fills RAM with temp files on a grading machine
that runs as root (CI, Docker, Gradescope). Where the kernel lets the grader make control groups,
each submission gets its own: ``pids.max`` caps its tasks, the memory limit caps everything it
allocates, tmpfs pages included, and the grader reads back which limit ended it. The grader puts
the submission's first process there before any student code runs (its pid comes from the kernel,
through ``SO_PASSCRED``, never from the student's side), and nothing inside the sandbox can leave,
since the sandbox has no ``/sys``.

Without control groups, a watchdog thread in the grader does the same from outside, by polling
``/proc``: it kills the submission when its tasks or its private memory pass the limits. It cannot
stop a fast fork bomb at exactly the cap, only within a poll; bwrap's capped tmpfs and the
per-process rlimits still hold. ``mechanism()`` says which one is in force.

This module runs in the grader; nothing here runs beside student code.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autograder.sandbox.bwrap import Limits

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
POLL_SECONDS = 0.05
_counter = iter(range(1, 1 << 62))


@dataclass(frozen=True)
class Hierarchy:
    """A control group of this process's, under which submissions' groups are made."""

    path: Path
    version: int  # 1 or 2
    controllers: tuple[str, ...]  # what this hierarchy enforces: "pids", "memory"


def _own_groups(proc_cgroup: str, root: Path) -> list[Hierarchy]:
    """Where this process sits in each hierarchy that has pids or memory, from /proc/self/cgroup."""
    found = []
    for line in proc_cgroup.splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and not controllers:
            base = root / "unified" if (root / "unified" / "cgroup.controllers").exists() else root
            group = base / path.lstrip("/")
            try:
                available = (group / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            wanted = tuple(c for c in ("pids", "memory") if c in available)
            if wanted:
                found.append(Hierarchy(group, 2, wanted))
        else:
            wanted = tuple(c for c in ("pids", "memory") if c in controllers.split(","))
            if wanted:
                found.append(Hierarchy(root / controllers / path.lstrip("/"), 1, wanted))
    return found


def _usable(hierarchy: Hierarchy) -> bool:
    """Can a child group be made here, with its limits set? (Tried, then removed.)"""
    probe = hierarchy.path / f"llm-course-kit-probe-{os.getpid()}"
    try:
        if hierarchy.version == 2:
            enabled = (hierarchy.path / "cgroup.subtree_control").read_text().split()
            missing = [c for c in hierarchy.controllers if c not in enabled]
            if missing:
                (hierarchy.path / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))
        probe.mkdir()
        try:
            name = "pids.max" if "pids" in hierarchy.controllers else (
                "memory.max" if hierarchy.version == 2 else "memory.limit_in_bytes")
            (probe / name).write_text("max" if name != "memory.limit_in_bytes" else "-1")
        finally:
            probe.rmdir()
        return True
    except OSError:
        return False


@cache
def hierarchies() -> tuple[Hierarchy, ...]:
    """The control groups this grader may make children in, covering pids and memory; () if none."""
    if os.environ.get("AUTOGRADER_NO_CGROUPS"):  # to test the fallback on a machine that has cgroups
        return ()
    try:
        own = _own_groups(Path("/proc/self/cgroup").read_text(), CGROUP_ROOT)
    except OSError:
        return ()
    usable = tuple(h for h in own if _usable(h))
    covered = {c for h in usable for c in h.controllers}
    return usable if {"pids", "memory"} <= covered else ()


def mechanism() -> str:
    """How the limits are enforced on this machine, in words (validate prints it; the README explains)."""
    found = hierarchies()
    if found:
        version = "v2" if all(h.version == 2 for h in found) else "v1"
        return f"cgroup {version}: a control group per submission caps its tasks and memory (tmpfs included)"
    return ("rlimits and a watchdog: no control groups can be made here, so a thread polls each submission's "
            "tasks and memory and kills it past the limits")


class Group:
    """One submission's control group, in every hierarchy that enforces pids or memory."""

    def __init__(self, limits: Limits):
        name = f"llm-course-kit-{os.getpid()}-{next(_counter)}"
        self.paths: list[tuple[Hierarchy, Path]] = []
        try:
            for hierarchy in hierarchies():
                path = hierarchy.path / name
                path.mkdir()
                self.paths.append((hierarchy, path))
                if "pids" in hierarchy.controllers:
                    (path / "pids.max").write_text(str(limits.tasks))
                if "memory" in hierarchy.controllers:
                    self._limit_memory(hierarchy, path, limits.memory_bytes)
        except OSError:
            self.remove()
            raise

    @staticmethod
    def _limit_memory(hierarchy: Hierarchy, path: Path, budget: int) -> None:
        if hierarchy.version == 2:
            (path / "memory.max").write_text(str(budget))
            if (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
            return
        (path / "memory.limit_in_bytes").write_text(str(budget))
        if (path / "memory.memsw.limit_in_bytes").exists():
            (path / "memory.memsw.limit_in_bytes").write_text(str(budget))

    def add(self, pid: int) -> None:
        for _, path in self.paths:
            (path / "cgroup.procs").write_text(str(pid))

    def pids(self) -> set[int]:
        found = set()
        for _, path in self.paths:
            try:
                found.update(int(p) for p in (path / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def _counter(self, file: str, key: str) -> int:
        for hierarchy, path in self.paths:
            try:
                for line in (path / file).read_text().splitlines():
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
            except (OSError, ValueError):
                pass
        return 0

    def exceeded(self, limits: Limits) -> str | None:
        """Which limit this group hit, in words, or None."""
        if self._counter("pids.events", "max"):
            return f"it tried to run more than {limits.tasks} processes and threads at once"
        oom = self._counter("memory.events", "oom_kill") or self._counter("memory.oom_control", "oom_kill")
        if oom:
            return f"it used more than its {limits.memory_bytes / 1024**3:g} GiB of memory (temp files included)"
        return None

    def remove(self) -> None:
        """Delete the group once its processes are gone (retrying while the last ones exit)."""
        for _, path in reversed(self.paths):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    _kill_all(self.pids())
                    time.sleep(0.02)
            else:
                log.warning("could not remove the control group %s", path)
        self.paths = []


def _kill_all(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): state, ppid, ..."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def _processes_of(child: int, zygote: int | None) -> list[Path]:
    """The /proc folders of the submission's processes, as the grader can read them.

    In the sandbox that is its PID namespace, read through the zygote's own view of /proc (only
    the sandbox's processes, so a poll stays cheap), less the namespace's init (1) and the zygote;
    without a sandbox, the child and its descendants, found through every process's parent.
    """
    if zygote is not None:
        proc = Path(f"/proc/{zygote}/root/proc")
        try:
            inner = int(Path(f"/proc/{zygote}/status").read_text().split("NSpid:")[1].split()[-1])
            return [proc / p for p in os.listdir(proc) if p.isdigit() and int(p) not in (1, inner)]
        except (OSError, IndexError, ValueError):
            return [Path(f"/proc/{child}")]
    parents = {}
    for entry in os.listdir("/proc"):
        try:
            parents[int(entry)] = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            pass
    found, frontier = {child}, [child]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return [Path(f"/proc/{pid}") for pid in found]


def _usage(processes: list[Path], limit: int) -> tuple[int, int]:
    """(tasks, private bytes) of these processes: threads counted, copy-on-write pages shared with the
    zygote not counted (they are the zygote's, not the submission's)."""
    tasks = memory = 0
    for proc in processes:
        try:
            tasks += len(os.listdir(proc / "task"))
        except OSError:
            pass
    if tasks > limit:  # already past the cap: no need to read the memory
        return tasks, 0
    for proc in processes:
        try:
            for line in (proc / "smaps_rollup").read_text().splitlines():
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    memory += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    return tasks, memory


def _in_namespace_of(child: int, zygote: int) -> set[int]:
    """Host pids of every process in the zygote's PID namespace but the zygote and that namespace's
    init: a scan of the host's /proc, too slow to poll with but right for killing."""
    try:
        namespace = os.readlink(f"/proc/{zygote}/ns/pid")
        init = int(_stat_fields(zygote)[1])
    except (OSError, ValueError, IndexError):
        return {child}
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (zygote, init):
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                    found.add(int(entry))
            except OSError:
                pass
    return found


class Confined:
    """One submission's process under the limits, from the moment it was forked until ``release``.

    ``kill`` ends every process the submission has; ``exceeded`` says which limit, if any, it hit.
    A watchdog thread kills it as soon as a limit is passed, so a cell or call that hit one ends at
    once, with that reason, instead of running on until its time limit.
    """

    def __init__(self, child: int, zygote: int | None, limits: Limits):
        self.child, self.zygote, self.limits = child, zygote, limits
        self.group = Group(limits) if hierarchies() else None
        if self.group is not None:
            self.group.add(child)
        self._reason: str | None = None
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, daemon=True, name=f"watchdog-{child}")
        self._watch.start()

    def exceeded(self) -> str | None:
        if self._reason is None and self.group is not None:
            self._reason = self.group.exceeded(self.limits)
        return self._reason

    def processes(self) -> set[int]:
        """Host pids of every process the submission has now."""
        if self.group is not None:
            return self.group.pids()
        if self.zygote is not None:
            return _in_namespace_of(self.child, self.zygote)
        return {int(proc.name) for proc in _processes_of(self.child, None)}

    def kill(self) -> None:
        for _ in range(20):
            pids = self.processes()
            if not pids:
                return
            _kill_all(pids)
            time.sleep(0.01)

    def _watchdog(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            if self.group is not None:
                reason = self.group.exceeded(self.limits)
            else:
                tasks, memory = _usage(_processes_of(self.child, self.zygote), self.limits.tasks)
                reason = (f"it ran more than {self.limits.tasks} processes and threads at once"
                          if tasks > self.limits.tasks else
                          f"it used more than its {self.limits.memory_bytes / 1024**3:g} GiB of memory"
                          if memory > self.limits.memory_bytes else None)
            if reason:
                self._reason = reason
                self.kill()
                return

    def release(self) -> None:
        """Stop watching and remove the control group (the submission's processes must be ending)."""
        self._stop.set()
        self._watch.join(timeout=2)
        if self.group is not None:
            self.exceeded()
            self.group.remove()
