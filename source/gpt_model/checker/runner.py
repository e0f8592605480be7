"""The program that runs beside student code: it executes the notebook's cells, as IPython does in
Jupyter, then answers calls to the student's functions with plain data.

It is the one runner of notebooks: the grader forks it in its sandbox (from ``zygote.py``), and the
students' checker forks it from its warm process on the student's machine. It is part of the
package that ships beside the notebook, so it imports nothing from the grader: the student's
process never sees the tests, the rubric or the solutions. Nothing here decides a grade; the
student's code can rewrite any of it, which only changes what the student's own functions appear
to return.

Protocol, one frame each way at a time (JSON plus raw tensor bytes, see ``wire``):
  grader -> {"op": "run", "cells": [{"index", "source"}], "functions": [...]}
  runner -> {"event": "cell", "index", "status": "running" | "ok" | "error", "error"?} per cell,
            then {"event": "ready", "functions": {...}, "defined": {...}}
  grader -> {"op": "call", "name", "args": [...], "after": [argument indexes, "self"]?,
             "build": {"args", "kwargs", "seed", "state", "train"}? (a class: the instance to call),
             "method": a method of that instance?,
             "stand_in": {notebook function: the kit's stand-in}?, "ops": false when not needed,
             "repeat": n calls in a row on the same arguments?, "kwargs": {name: value}?,
             "grad": false to call under torch.no_grad()?, "watch": [argument indexes]?}
  runner -> {"event": "result", "ok", "value" | "error", "ops": [aten ops the call ran],
             "after": [[index, [[parameter name, tensor], ...]], ...] when asked,
             "changed": [torch's or the kit's class attributes found changed, and put back],
             "watched": [[index, [[name, fingerprint], ...]], ...] of the arguments in "watch"}
  grader -> {"op": "isolate"}: fork; the fork answers the next calls   runner -> {"event": "isolated"}
  grader -> {"op": "release"}: the fork ends, the runner goes on       runner -> {"event": "resumed", "status"}
            (also sent, in place of a result, when the fork ends during a call)

Before and after every call, torch's classes and the kit's (the model's, the optimizers') are put
back as they were before the notebook's code ran (``guard``): the inputs are built from them, and
what the call did is read back through them. What was found changed is named in the reply.

Each function's calls go to a fork of the process as the notebook's cells left it (``isolate``),
so what one function's checks do (turn off grad mode, change the default dtype) never reaches the
next function's. Before every call, torch's global state is put back to a fresh kernel's (grad
mode on, float32, the thread count the runner started with, a seeded generator).

An argument may be a reference (``wire.Ref``) to an object built here, because it cannot travel:
a model of a module beside the notebook built from a seed and a configuration, an optimizer over
an earlier argument's parameters, whatever the assignment's support module builds (a tokenizer).
``after`` reads a model argument's parameters
back once the call returns (what an optimizer step did to them), or the state of the instance a
call on a class was made on ("self"). ``stand_in`` puts one of the assignment's
functions in place of a notebook function the called one uses, for that call only (see
``inputs.standing_in``). ``repeat`` makes several calls in a row on the same objects
(training steps) and returns the list of their values.
"""

import gc
import os
import re
import sys
import traceback

from . import guard, inputs, ops, wire

CELL_FILE = re.compile(r"<ipython-input-(\d+)-[0-9a-f]+>")


class Runner:
    def __init__(self, fd_in: int, fd_out: int):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.pid = os.getpid()
        torch = sys.modules.get("torch")  # imported by the warm process that forked this one, if any
        self.threads = torch.get_num_threads() if torch is not None else None
        self.cell_of_count: dict[int, int] = {}
        self.shell = None

    # ------------------------------------------------------------ framing

    def read(self) -> tuple[dict, bytearray]:
        length, blob = wire.parse_frame_header(self._read_exact(wire.HEADER.size))
        return wire.parse_frame_body(self._read_exact(length)), self._read_exact(blob)

    def _read_exact(self, size: int) -> bytearray:
        data = bytearray(size)
        view, filled = memoryview(data), 0
        while filled < size:
            got = os.readv(self.fd_in, [view[filled:]])
            if not got:
                raise SystemExit(0)  # the grader closed the channel: nothing more to do
            filled += got
        return data

    def send(self, message: dict, blob: bytes | bytearray = b"") -> None:
        wire.write_frame(self.fd_out, message, blob)

    # ------------------------------------------------------------ notebook

    def run_cells(self, cells: list, functions: list) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(colors="NoColor")
        for cell in cells:
            self.send({"event": "cell", "index": cell["index"], "status": "running"})
            self.cell_of_count[self.shell.execution_count] = cell["index"]
            result = self.shell.run_cell(cell["source"], store_history=True)
            self.leave_if_forked()
            sys.stdout.flush()
            sys.stderr.flush()
            exc = result.error_before_exec or result.error_in_exec
            if exc is None:
                self.send({"event": "cell", "index": cell["index"], "status": "ok"})
            else:
                self.send({"event": "cell", "index": cell["index"], "status": "error", "error": self.describe(exc)})
        self.send({"event": "ready", "functions": {name: self.inspect(name) for name in functions},
                   "defined": self.defined_functions()})

    def leave_if_forked(self) -> None:
        """A process the student's code forked, back in the runner: it must not speak for the notebook."""
        if os.getpid() != self.pid:
            os._exit(0)

    def cell_and_line(self, filename: str, lineno: int):
        match = CELL_FILE.fullmatch(filename or "")
        if match and int(match.group(1)) in self.cell_of_count:
            return self.cell_of_count[int(match.group(1))], lineno
        return None

    def describe(self, exc: BaseException) -> dict:
        """Error type, message and where in the notebook it happened, as plain strings."""
        where = None
        if isinstance(exc, SyntaxError):
            where = self.cell_and_line(exc.filename, exc.lineno or 0)
        frames = []
        for frame in traceback.extract_tb(exc.__traceback__):
            found = self.cell_and_line(frame.filename, frame.lineno)
            if found:
                where = found
                frames.append(f"cell {found[0]}, line {found[1]}, in {frame.name}: {(frame.line or '').strip()}")
        try:
            message = str(exc)
        except Exception:
            message = "<unprintable message>"
        return {
            "type": type(exc).__name__,
            "message": message[:2000],
            "cell": where[0] if where else None,
            "line": where[1] if where else None,
            "trace": frames[-5:],
        }

    def inspect(self, name: str) -> dict:
        import inspect

        namespace = self.shell.user_ns
        if name not in namespace:
            return {"defined": False}
        value = namespace[name]
        if not callable(value):
            return {"defined": True, "callable": False, "type": type(value).__name__}
        info = {"defined": True, "callable": True, "cell": self.cell_of(value), "is_class": isinstance(value, type)}
        try:
            params = inspect.signature(value).parameters.values()
            info["params"] = [{"name": p.name, "kind": p.kind.name, "default": p.default is not p.empty}
                              for p in params]
        except (TypeError, ValueError):
            info["params"] = None
        return info

    def cell_of(self, function):
        """The cell a function (or a class, by its methods) was defined in, if the notebook defined it."""
        codes = [getattr(function, "__code__", None)]
        if isinstance(function, type):
            codes += [getattr(member, "__code__", None) for member in vars(function).values()]
        for code in codes:
            found = self.cell_and_line(getattr(code, "co_filename", ""), 0) if code else None
            if found:
                return found[0]
        return None

    def defined_functions(self) -> dict:
        """Every function the notebook defined, with its cell: for 'did you mean' messages."""
        found = {}
        for name, value in list(self.shell.user_ns.items()):
            if not name.startswith("_") and callable(value):
                cell = self.cell_of(value)
                if cell is not None:
                    found[name] = cell
        return found

    # ------------------------------------------------------------ calls

    def call(self, name: str, args: list, blob: bytearray, after: list = (),
             stand_in: dict | None = None, record: bool = True, repeat: int = 1,
             build: dict | None = None, method: str | None = None, kwargs=None,
             grad: bool = True, watch: list = ()) -> tuple[dict, bytearray]:
        """Call the notebook's ``name`` on ``args``; for a class, build an instance first (``build``:
        its arguments, seed, state and mode) and call it, or its ``method``."""
        function = self.shell.user_ns.get(name)
        changed = set(guard.restore())  # what the cells or an earlier call did to torch's or the kit's classes
        values = []
        for arg in args:  # in order: an optimizer refers to a model argument before it
            values.append(self.resolve(wire.decode(arg, blob), values))
        named = wire.decode(kwargs, blob) if kwargs is not None else {}
        recorder, out = ops.record_ops() if record else ops.NoRecording(), bytearray()
        try:
            instance = None
            with inputs.standing_in(self.shell.user_ns, stand_in or {}):  # a class may build its callees
                if build is not None:
                    instance = inputs.instance_of(function, wire.decode(build, blob))
                    function = inputs.bound(instance, method)
                with recorder:
                    value = inputs.called(function, values, repeat, named if isinstance(named, dict) else {}, grad)
            changed.update(guard.restore())  # before anything is read back
            reply = {"ok": True, "value": wire.encode(value, out)}
            if after:
                reply["after"] = wire.encode(inputs.read_after(after, values, instance, value), out)
            if watch:
                reply["watched"] = [[index, inputs.fingerprints(values[index])] for index in watch]
        except BaseException as exc:  # noqa: BLE001 - the student's exception is the answer
            if isinstance(exc, KeyboardInterrupt):
                raise
            reply = {"ok": False, "error": self.describe(exc)}
            changed.update(guard.restore())
        self.leave_if_forked()
        sys.stdout.flush()
        sys.stderr.flush()
        return {"event": "result", **reply, "ops": sorted(recorder.ops), "changed": sorted(changed)}, out

    def resolve(self, value, earlier: list = ()):
        """Objects the grader can name but not send (see ``wire.Ref``), built by ``inputs.build``."""
        if isinstance(value, wire.Ref):
            return inputs.build(value.name, earlier)
        if isinstance(value, list):
            return [self.resolve(item, earlier) for item in value]
        return value

    def serve(self) -> None:
        request, blob = self.read()
        own_file = request.get("file")
        name = os.path.basename(own_file["name"]) if own_file else ""
        if name.endswith(".ipynb") and not os.path.lexists(name):  # never over a release file
            with open(name, "wb") as handle:
                handle.write(blob[:own_file["nbytes"]])
        if not guard.kept():  # no warm process kept them before forking this one
            guard.keep()
        self.run_cells(request["cells"], request["functions"])
        while True:
            request, blob = self.read()
            if request.get("op") == "isolate":
                self.isolate()
            elif request.get("op") == "release":
                os._exit(0)  # only a fork is asked to release: its parent says "resumed"
            else:
                self.fresh_torch_state()
                self.send(*self.call(request["name"], request["args"], blob, request.get("after", []),
                                     request.get("stand_in"), request.get("ops", True),
                                     int(request.get("repeat", 1)), request.get("build"), request.get("method"),
                                     request.get("kwargs"), request.get("grad", True) is not False,
                                     [i for i in request.get("watch", []) if type(i) is int]))

    def isolate(self) -> None:
        """Fork: the fork answers the next calls, while this process waits, as the cells left it, to
        take over when the fork ends (released, or ended by a call)."""
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # the fork's garbage collector leaves the notebook's objects, and their pages, alone
        pid = os.fork()
        if pid == 0:
            self.pid = os.getpid()
            # One torch thread in the fork: the cells may have started a pool of OpenMP threads, which a
            # forked process must not use; a check's calls are small.
            self.threads = 1 if self.threads is not None else None
            self.send({"event": "isolated"})
            return
        _, status = os.waitpid(pid, 0)
        gc.unfreeze()
        self.send({"event": "resumed", "status": os.waitstatus_to_exitcode(status)})

    def fresh_torch_state(self) -> None:
        """Torch's global state as a fresh kernel has it, whatever the notebook or an earlier call left."""
        torch = sys.modules.get("torch")
        if torch is None:
            return
        if self.threads is None:
            self.threads = torch.get_num_threads()
        torch.set_grad_enabled(True)
        torch.set_default_dtype(torch.float32)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        torch.manual_seed(0)

