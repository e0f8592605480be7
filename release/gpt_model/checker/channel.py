"""The parent's side of the wire: run a notebook in a runner process and call its functions.

A ``Channel`` speaks to one runner (``runner.py``) over a pair of pipes: it sends the cells, then
calls. What comes back is JSON and raw tensor bytes, checked field by field here before anything
else sees it; values are rebuilt by ``wire.decode``, never unpickled. Time limits are enforced from
this side: when a deadline passes, the runner's whole process group is ended, whatever signals the
student's code ignores. The grader's runner is forked in its sandbox (``StudentProcess``), the
students' checker's by its warm process; both are the same runner, spoken to by this same code.

A child handle, as ``spawn`` returns it, has ``to_child`` and ``from_child`` (pipe fds), ``output``
(a binary stream of what the notebook printed), ``sandboxed``, ``finish(grace)`` (end it and its
processes; the exit status) and ``exceeded()`` (the limit that ended it, in words, or None).
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import wire
from .cells import Cell

OUTPUT_LIMIT = 64 * 1024


class StudentProcessEnded(Exception):
    """The student's process is gone: it exited, crashed, was killed for time, or broke protocol."""

    def __init__(self, reason: str, timed_out: bool = False, process_alive: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.process_alive = process_alive  # only the fork answering one function's calls ended


@dataclass(frozen=True)
class StudentError:
    """An exception raised by student code, described as plain strings."""

    type: str
    message: str
    cell: int | None = None
    line: int | None = None
    trace: tuple[str, ...] = ()

    @property
    def out_of_memory(self) -> bool:
        return self.type == "MemoryError" or "can't allocate memory" in self.message

    @property
    def advice(self) -> str:
        """What to do about it, for errors whose message alone does not say."""
        if self.type == "NotImplementedError" and not self.message:
            return "The function is still the stub: replace `raise NotImplementedError()` with your code."
        if self.out_of_memory:
            return "Something allocated far more memory than this assignment needs."
        return ""

    def summary(self) -> str:
        if self.out_of_memory:
            return "memory limit exceeded (MemoryError)"
        message = self.message if len(self.message) < 300 else self.message[:300] + "..."
        return f"{self.type}: {message}" if message else self.type


@dataclass(frozen=True)
class CellResult:
    index: int
    error: StudentError | None


@dataclass(frozen=True)
class FunctionInfo:
    """What the notebook's namespace holds under a contract name."""

    defined: bool
    callable: bool = False
    type_name: str = ""
    cell: int | None = None
    params: tuple[tuple[str, str, bool], ...] | None = None  # (name, kind, has default)
    is_class: bool = False


@dataclass(frozen=True)
class NotebookRun:
    cells: tuple[CellResult, ...]
    functions: dict[str, FunctionInfo]
    defined: dict[str, int] = field(default_factory=dict)  # every function the notebook defined -> its cell
    stopped: str | None = None  # why the run ended early, if it did
    stopped_in: int | None = None  # the cell that was running then
    cell_to_blame: bool = False  # that cell hit its own time limit or ended the process: run again without it
    out_of_time: bool = False  # the run used up all the time it was given
    skipped: dict[int, str] = field(default_factory=dict)  # cells left out of this run -> why


@dataclass(frozen=True)
class CallReply:
    value: Any = None
    error: StudentError | None = None
    ops: frozenset[str] = frozenset()
    after: dict[int, dict[str, Any]] = field(default_factory=dict)  # argument -> its parameters, after the call
    changed: frozenset[str] = frozenset()  # torch's or the kit's class attributes the notebook had changed
    watched: dict[int, dict[str, str]] = field(default_factory=dict)  # argument -> its tensors' fingerprints


def _parameters(data: Any, asked: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    """The parameters read back after a call: exactly the arguments asked for, each a list of
    [name, tensor] pairs; anything else is refused."""
    import torch

    asked = tuple(asked)
    if not isinstance(data, list) or len(data) != len(asked):
        raise wire.WireError("parameters read back are not one list per argument asked for")
    states = {}
    for item, index in zip(data, asked):
        if not (isinstance(item, list) and len(item) == 2 and item[0] == index and isinstance(item[1], list)):
            raise wire.WireError("parameters read back are not [index, [[name, tensor], ...]]")
        pairs = item[1]
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and type(p[1]) is torch.Tensor
                   for p in pairs):
            raise wire.WireError("a parameter read back is not a [name, tensor] pair")
        states[index] = {name: tensor for name, tensor in pairs}
    return states


def _fingerprints(data: Any, asked: tuple[int, ...]) -> dict[int, dict[str, str]]:
    """The fingerprints of the arguments a call should only read (``inputs.fingerprints``): exactly
    those asked for, each [index, [[name, fingerprint], ...]]; anything else is refused."""
    if not isinstance(data, list) or [item[0] if isinstance(item, list) and item else None for item in data] \
            != list(asked):
        raise wire.WireError("fingerprints are not one list per argument watched")
    kept = {}
    for item in data:
        if not (len(item) == 2 and isinstance(item[1], list) and all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str)
                for p in item[1])):
            raise wire.WireError("a fingerprint is not a [name, text] pair")
        kept[item[0]] = {name[:300]: text[:300] for name, text in item[1]}
    return kept


def _str(value: Any, limit: int = 2000) -> str:
    if not isinstance(value, str):
        raise wire.WireError("expected text")
    return value[:limit]


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise wire.WireError("expected an integer")
    return value


def _error(data: Any) -> StudentError:
    if not isinstance(data, dict):
        raise wire.WireError("error is not an object")
    trace = data.get("trace", [])
    if not isinstance(trace, list):
        raise wire.WireError("trace is not a list")
    return StudentError(_str(data.get("type")), _str(data.get("message", "")), _opt_int(data.get("cell")),
                        _opt_int(data.get("line")), tuple(_str(t, 300) for t in trace[:5]))


def _function_info(data: Any) -> FunctionInfo:
    if not isinstance(data, dict) or not isinstance(data.get("defined"), bool):
        raise wire.WireError("function info is malformed")
    if not data["defined"]:
        return FunctionInfo(False)
    if not data.get("callable"):
        return FunctionInfo(True, False, _str(data.get("type", ""), 100))
    params = data.get("params")
    if params is not None:
        if not isinstance(params, list):
            raise wire.WireError("params is not a list")
        params = tuple((_str(p["name"], 100), _str(p["kind"], 40), bool(p["default"]))
                       for p in params if isinstance(p, dict))
    return FunctionInfo(True, True, "", _opt_int(data.get("cell")), params, data.get("is_class") is True)



# ------------------------------------------------------------------ the process


class Channel:
    """One notebook running in a runner process. Use as a context manager."""

    def __init__(self, spawn: Callable[[], Any]):
        self.spawn = spawn
        self.child = None
        self.output = bytearray()
        self.output_dropped = 0
        self.sandboxed = False
        self.status: int | None = None
        self.exceeded: str | None = None  # the limit that ended the process, if one did
        self.isolated = False  # calls go to a fork of the notebook's process, ended before the next function's

    @property
    def alive(self) -> bool:
        return self.child is not None

    def __enter__(self) -> Channel:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self.child = self.spawn()
        self.to_child, self.from_child = self.child.to_child, self.child.from_child
        self.sandboxed = self.child.sandboxed
        self.drain = threading.Thread(target=self._drain_output, args=(self.child.output,), daemon=True)
        self.drain.start()

    def _drain_output(self, stream) -> None:
        """Keep the first OUTPUT_LIMIT bytes of everything printed; count and drop the rest."""
        while chunk := stream.read1(65536):
            room = max(OUTPUT_LIMIT - len(self.output), 0)
            self.output += chunk[:room]
            self.output_dropped += max(len(chunk) - room, 0)

    def printed(self) -> str:
        text = self.output.decode("utf-8", errors="replace")
        return text + (f"\n[... {self.output_dropped} more bytes of output not kept]" if self.output_dropped else "")

    def close(self, grace: float = 0.0) -> int | None:
        """End the notebook's process and everything it started; returns its exit status if known."""
        if self.child is None:
            return self.status
        child, self.child = self.child, None
        self.status = child.finish(grace)
        self.exceeded = child.exceeded()
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.drain.join(timeout=5)
        child.output.close()
        return self.status

    # -------------------------------------------------------------- messages

    def _send(self, message: dict, blob: bytes | bytearray = b"") -> None:
        try:
            wire.write_frame(self.to_child, message, blob)
        except OSError:
            raise StudentProcessEnded(self._ended_reason()) from None

    def _read_exact(self, size: int, deadline: float) -> bytearray:
        data = bytearray(size)
        view, filled = memoryview(data), 0
        while filled < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                self.close()
                raise StudentProcessEnded("time limit", timed_out=True)
            got = os.readv(self.from_child, [view[filled:]])
            if not got:
                raise StudentProcessEnded(self._ended_reason())
            filled += got
        return data

    def _receive(self, deadline: float) -> tuple[dict, bytearray]:
        try:
            length, blob = wire.parse_frame_header(self._read_exact(wire.HEADER.size, deadline))
            return wire.parse_frame_body(self._read_exact(length, deadline)), self._read_exact(blob, deadline)
        except wire.WireError as exc:
            self.close()
            raise StudentProcessEnded(f"the notebook's process sent something that is not grader data ({exc})")

    def _ended_reason(self) -> str:
        code = self.close(grace=2.0)
        if self.exceeded:
            return f"the notebook's process was stopped: {self.exceeded}"
        if code == 1 and "MemoryError" in self.printed():
            return "memory limit exceeded"
        return _exit_reason(code)

    # -------------------------------------------------------------- operations

    def run_notebook(self, cells: tuple[Cell, ...], functions: tuple[str, ...], timeout: float,
                     own_file: tuple[str, bytes] | None = None, cell_timeout: float | None = None) -> NotebookRun:
        """Run every cell; an error in one cell is recorded and the next cell runs anyway.

        ``timeout`` bounds all the cells, ``cell_timeout`` each one. A cell that passes its own
        limit, or ends the process, stops the run with ``cell_to_blame`` set, so the caller can run
        the notebook again without it. ``own_file`` (name, bytes) is the submitted notebook, written
        beside the cells' working directory first, so code that opens its own notebook finds it.
        """
        notebook_deadline = time.monotonic() + timeout
        deadline = notebook_deadline
        request = {"op": "run", "cells": [{"index": c.index, "source": c.source} for c in cells],
                   "functions": list(functions)}
        blob = b""
        if own_file is not None:
            request["file"] = {"name": os.path.basename(own_file[0]), "nbytes": len(own_file[1])}
            blob = own_file[1]
        results, running = [], None
        try:
            self._send(request, blob)
            while True:
                message, _ = self._receive(deadline)
                event = message.get("event")
                if event == "cell":
                    index = _opt_int(message.get("index"))
                    if message.get("status") == "running":
                        running = index
                        if cell_timeout:
                            deadline = min(notebook_deadline, time.monotonic() + cell_timeout)
                    else:
                        error = message.get("error")
                        results.append(CellResult(index, _error(error) if error is not None else None))
                        running, deadline = None, notebook_deadline
                elif event == "ready":
                    functions_data = message.get("functions")
                    defined = message.get("defined")
                    if not isinstance(functions_data, dict) or not isinstance(defined, dict):
                        raise wire.WireError("ready message is malformed")
                    return NotebookRun(
                        tuple(results),
                        {name: _function_info(functions_data.get(name)) for name in functions},
                        {_str(k, 100): _opt_int(v) for k, v in list(defined.items())[:500]},
                    )
                else:
                    raise wire.WireError(f"unexpected event {event!r}")
        except StudentProcessEnded as ended:
            if not ended.timed_out:
                reason = ended.reason
            elif deadline < notebook_deadline:
                reason = f"it did not finish within its {cell_timeout:g} s"
            else:
                reason = f"the notebook did not finish within {timeout:g} s"
            own_limit = running is not None and (not ended.timed_out or deadline < notebook_deadline)
            return NotebookRun(tuple(results), {}, {}, stopped=reason, stopped_in=running, cell_to_blame=own_limit,
                               out_of_time=ended.timed_out and not own_limit)
        except (wire.WireError, KeyError, TypeError) as exc:
            self.close()
            return NotebookRun(tuple(results), {}, {}, stopped=f"the notebook's process broke protocol ({exc})")

    def call(self, name: str, args: list[Any], timeout: float, after: tuple = (),
             stand_in: dict[str, str] | None = None, ops: bool = True, repeat: int = 1,
             build: dict | None = None, method: str | None = None, kwargs: dict | None = None,
             grad: bool = True, watch: tuple = ()) -> CallReply:
        """Call a student function; raises StudentProcessEnded if the process dies or runs out of time.
        ``after``: the arguments (models) whose parameters to read back once the call returns;
        ``stand_in``: notebook functions replaced by the kit's for this call (``inputs.STAND_INS``);
        ``ops``: whether to record the torch ops it runs (they cost time, and only some checks read them);
        ``repeat``: that many calls in a row on the same arguments, the value the list of theirs;
        ``build`` and ``method``: for a class, the instance to build and the method to call on it."""
        out = bytearray()
        request = {"op": "call", "name": name, "args": [wire.encode(a, out) for a in args]}
        if after:
            request["after"] = list(after)
        if stand_in:
            request["stand_in"] = dict(stand_in)
        if not ops:
            request["ops"] = False
        if repeat != 1:
            request["repeat"] = repeat
        if build is not None:
            request["build"] = wire.encode(build, out)
        if method:
            request["method"] = method
        if kwargs:
            request["kwargs"] = wire.encode(dict(kwargs), out)
        if not grad:
            request["grad"] = False
        if watch:
            request["watch"] = list(watch)
        self._send(request, out)
        message, blob = self._receive(time.monotonic() + timeout)
        if message.get("event") == "resumed":  # the fork answering calls ended during this one
            self.isolated = False
            raise StudentProcessEnded(_exit_reason(message.get("status")), process_alive=True)
        try:
            if message.get("event") != "result" or not isinstance(message.get("ok"), bool):
                raise wire.WireError("reply is not a call result")
            ops = message.get("ops", [])
            if not isinstance(ops, list):
                raise wire.WireError("ops is not a list")
            ops = frozenset(_str(op, 100) for op in ops[:1000])
            changed = message.get("changed", [])
            if not isinstance(changed, list):
                raise wire.WireError("changed is not a list")
            changed = frozenset(_str(item, 200) for item in changed[:50])
            if message["ok"]:
                states = _parameters(wire.decode(message.get("after", []), blob), after)
                kept = _fingerprints(message.get("watched", []), watch)
                return CallReply(value=wire.decode(message.get("value"), blob), ops=ops, after=states, changed=changed,
                                 watched=kept)
            return CallReply(error=_error(message.get("error")), ops=ops, changed=changed)
        except (wire.WireError, KeyError, TypeError) as exc:
            self.close()
            raise StudentProcessEnded(f"the notebook's process sent a malformed reply ({exc})") from None



    def isolate(self, timeout: float = 30.0) -> None:
        """From now on, calls go to a fresh fork of the notebook's process as its cells left it, so
        that nothing one function's checks do reaches the next function's (see ``release``)."""
        self.release(timeout)
        self._send({"op": "isolate"})
        message, _ = self._receive(time.monotonic() + timeout)
        if message.get("event") != "isolated":
            self.close()
            raise StudentProcessEnded("the notebook's process did not fork for the next checks")
        self.isolated = True

    def release(self, timeout: float = 30.0) -> None:
        """End the fork that answered calls; the notebook's process, as its cells left it, takes over."""
        if not self.isolated:
            return
        self.isolated = False
        self._send({"op": "release"})
        message, _ = self._receive(time.monotonic() + timeout)
        if message.get("event") != "resumed":
            self.close()
            raise StudentProcessEnded("the notebook's process did not take over after a function's checks")


def _exit_reason(status: Any) -> str:
    """Why a process ended, from its exit status as ``os.waitstatus_to_exitcode`` gives it."""
    if type(status) is not int:
        return "the notebook's process stopped answering"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"the notebook's process was killed by {name}" + (
            " (a file larger than the limit was written)" if name == "SIGXFSZ" else "")
    return f"the notebook's process exited (exit code {status}), for example through os._exit() or a crash"
