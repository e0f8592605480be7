"""The students' warm process: torch imported and the notebook's model built once, then a fork of
the runner (``runner.py``, the grader's own) for every run of a notebook.

The first ``python check.py`` starts it and leaves it waiting in the background, so the next check
starts in about a second instead of several; it ends after ``CHECK_PY_LINGER`` seconds (300) without a
check, and ``python check.py --stop`` ends it now. Its socket is named by a hash of the files it
loaded, in a folder only its user can open; a changed file names another socket, so a process that
loaded the old files is never used again. With ``CHECK_PY_LINGER=0`` it is the command's own and
ends with it. When it ends, it removes its socket, and the folder too once no other checker's
socket is in it: nothing is left behind.

Protocol, one newline-ended JSON message at a time on a stream socket (macOS has no SOCK_SEQPACKET):
  warm   -> "ready"
  client -> {"op": "check", "notebook": path, "classroom": bool, "env": {...}} with one fd, where
            the check writes what the student reads
  warm   -> {"pid": pid}          the driver checking it (a fork, leading its own session: the client
                                  ends it on Ctrl-C); it runs the notebook in runners it forks itself
  warm   -> {"status": code}      once the driver ended: 0 when every visible check passed
  client -> {"op": "stop"}        the warm process ends

So ``python check.py`` itself never imports torch: it relays what the driver writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import cells, guard, inputs, local_runner, memo, release_files

LINGER = 300.0  # seconds the shared warm process waits in the background for the next check
# What a check's report needs from the student's shell: GitHub Actions' files, and the checker's limits.
CLIENT_ENV = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "CHECK_PY_LINGER", "COLUMNS")


def linger() -> float:
    try:
        return float(os.environ.get("CHECK_PY_LINGER", LINGER))
    except ValueError:
        return LINGER


# ---------------------------------------------------------------- warming up


def warm_up() -> None:
    """Pay once what every run of a notebook pays: imports, the assignment's own needs, the model the
    assignment declares, as the trusted setup cells build it (kept in a memo that every run building
    the same model reuses); then keep torch's and the model's classes as they are (``guard``)."""
    _warm_up()
    guard.keep(str(release_files.FOLDER))


def _warm_up() -> None:
    import torch

    local_runner.THREADS = torch.get_num_threads()
    torch.set_num_threads(1)  # before any op: a process with an intra-op pool must not fork
    import IPython.core.interactiveshell  # noqa: F401
    from IPython.core.inputtransformer2 import TransformerManager

    sys.path.insert(0, str(release_files.FOLDER))
    inputs.warm_up(release_files.FOLDER)  # the assignment's own needs (its support module's warm_up)
    inputs.import_what_optimizers_need(release_files.FOLDER)
    model = release_files.summary_data().get("model")
    if not model:
        return
    try:
        module, _, name = model.partition(":")
        model_class = getattr(importlib.import_module(module), name)
        kept = memo.ModelMemo()
        kept.record(model_class)
        scratch = {"__name__": "__warm__"}
        cwd = os.getcwd()
        os.chdir(release_files.FOLDER)
        try:
            for source in cells.setup_cells(release_files.trusted_notebook()):
                exec(compile(TransformerManager().transform_cell(source), "<setup>", "exec"), scratch)
        finally:
            os.chdir(cwd)
        kept.replay(model_class)
    except Exception:  # noqa: BLE001 - without the memo, notebooks build their models themselves
        pass


# ---------------------------------------------------------------- the server


def serve(control: socket.socket, listener: socket.socket | None = None) -> str | None:
    """Answer one client: check its notebooks, one at a time. "stop" when asked to end."""
    control.sendall(b"ready\n")
    while True:
        message, fds, _, _ = socket.recv_fds(control, 65536, 1)  # the fd comes with the first byte
        if not message:
            return None
        request = json.loads(message + _line(control) if not message.endswith(b"\n") else message)
        if request.get("op") != "check" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            return "stop"
        driver = _fork_driver(request, fds[0], control, listener)
        os.close(fds[0])
        control.sendall(json.dumps({"pid": driver}).encode() + b"\n")
        control.sendall(json.dumps({"status": local_runner.end(driver, grace=86400)}).encode() + b"\n")


def _fork_driver(request: dict, output: int, control: socket.socket, listener: socket.socket | None) -> int:
    """A fork that checks one notebook (running it in runners it forks itself) and writes the report."""
    from .saved_notebook import check_and_report

    pid = os.fork()
    if pid:
        return pid
    code = 2
    try:
        control.close()
        if listener is not None:
            listener.close()
        os.setsid()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a stopped check ends its runners first
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.environ.update({k: str(v) for k, v in request.get("env", {}).items()})
        passed = check_and_report(Path(request["notebook"]), bool(request.get("classroom")))
        code = 0 if passed else 1
    except BaseException:  # noqa: BLE001 - said on the student's terminal, then the driver ends
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve_own(control: socket.socket) -> None:
    """The warm process of one ``python check.py`` alone (no linger): it ends with that command."""
    os.environ[release_files.OUTSIDE] = "1"
    warm_up()
    serve(control)


def serve_shared(address: Path) -> None:
    """The shared warm process: listen at ``address``, warm up once, then take one check at a time
    until none comes for the linger time. A check connects while holding the folder's lock, and the
    process leaves only while holding it too, after a last look for a waiting check: so a check that
    connected is always served, and the socket removed is always this process's own."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(address))  # before warming up: the check that started us connects, and waits
    listener.listen(8)
    own = address.stat().st_ino
    os.environ[release_files.OUTSIDE] = "1"
    warm_up()
    listener.settimeout(linger())
    while True:
        try:
            control, _ = listener.accept()
        except (TimeoutError, socket.timeout):
            with _locked(address.parent):
                listener.setblocking(False)
                try:
                    control, _ = listener.accept()  # one that connected as we timed out
                except BlockingIOError:
                    _remove(address, own)
                    return
                finally:
                    listener.settimeout(linger())
        with control:
            control.settimeout(None)
            try:
                outcome = serve(control, listener)
            except OSError:  # a check stopped with Ctrl-C, say: wait for the next one
                outcome = None
            if outcome == "stop":
                with _locked(address.parent):
                    _remove(address, own)  # before the connection closes: the stop is done when it reads so
                return


def _remove(address: Path, inode: int) -> None:
    """Remove our socket, and the folder once it holds no other (called with the folder locked)."""
    try:
        if address.stat().st_ino == inode:
            address.unlink()
    except FileNotFoundError:
        pass
    with contextlib.suppress(OSError):
        address.parent.rmdir()


def _line(sock: socket.socket) -> bytes:
    """The rest of one newline-ended message (empty if the other side is gone)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# ---------------------------------------------------------------- finding it


def address() -> Path:
    """Where the shared warm process for these files listens: a socket named by everything it loaded
    (this package, the checks, the modules beside them, the Python running it)."""
    folder = release_files.FOLDER
    key = hashlib.sha256(f"{sys.executable}\0{folder}".encode())
    here = Path(__file__).resolve().parent
    for path in sorted([*here.glob("*.py"), *folder.glob("*.py"), folder / release_files.DATA,
                        folder / release_files.SUMMARY]):
        key.update(path.name.encode() + b"\0" + path.read_bytes())
    return _folder() / f"{key.hexdigest()[:16]}.sock"  # short: macOS allows 104 bytes of path


def _folder() -> Path:
    return Path(tempfile.gettempdir()) / f"course-kit-check-{os.getuid()}"


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold the lock of this user's checker folder (made if missing, and only this user's to open).
    The folder itself is the lock, so that nothing is left behind when the last checker leaves; a
    folder removed while we waited for it is made again."""
    while True:
        folder.mkdir(mode=0o700, exist_ok=True)
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except FileNotFoundError:
            continue
        try:
            info = os.fstat(fd)
            if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
                raise OSError(f"{folder} is not a folder that only you can open; set CHECK_PY_LINGER=0")
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(folder, follow_symlinks=False).st_ino != info.st_ino:
                    continue  # removed (and maybe made again) while we waited
            except FileNotFoundError:
                continue
            yield
            return
        finally:
            os.close(fd)


def _connect(path: Path) -> socket.socket | None:
    """A connection to the warm process listening at ``path``, or None when none listens."""
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        control.connect(str(path))
        return control
    except (FileNotFoundError, ConnectionRefusedError):
        control.close()
        return None


def stop() -> str:
    """End the shared warm process for these files, if one is waiting; what happened, in words."""
    path = address()
    with _locked(path.parent):
        control = _connect(path)
        if control is None:
            _remove(path, -1)
    if control is None:
        return "No checker was waiting in the background."
    with control:
        if _line(control) == b"ready\n":  # once warm, and once a check that holds it is done
            control.sendall(json.dumps({"op": "stop"}).encode() + b"\n")
            _line(control)
    return "Stopped the checker that was waiting in the background."


# ---------------------------------------------------------------- the client


class WarmProcess:
    """A connection to a warm process, for all the notebooks one ``python check.py`` checks and every
    restart after a cell or call ran out of time. With a linger time (the default), it is shared: the
    first check starts it, the next ones find it at ``address()``. With none, it is this command's
    own, and ends with it. ``started`` says whether this connection had to start one."""

    def __init__(self, linger_time: float | None = None):
        self.own = (linger() if linger_time is None else linger_time) <= 0
        self.started = False
        for _ in range(2):
            self.control = self._own() if self.own else self._shared()
            self.control.settimeout(600)
            try:
                ready = _line(self.control)
            except OSError:
                ready = b""
            self.control.settimeout(None)
            if ready == b"ready\n":
                return
            self.close()
        raise RuntimeError("the checker could not start torch and IPython; run `python -c \"import torch, "
                           "IPython\"` to see why")

    def check(self, notebook: Path, classroom: bool = False, out=sys.stdout) -> bool:
        """Check ``notebook`` in the warm process, relaying what it writes to ``out``; whether every
        visible check passed. Ctrl-C ends the check, not the warm process."""
        read, write = os.pipe()
        env = {key: os.environ[key] for key in CLIENT_ENV if key in os.environ}
        request = {"op": "check", "notebook": str(notebook.resolve()), "classroom": classroom, "env": env}
        try:
            socket.send_fds(self.control, [json.dumps(request).encode() + b"\n"], [write])
        finally:
            os.close(write)
        driver = json.loads(_line(self.control))["pid"]
        try:
            with os.fdopen(read, "rb") as report:
                for line in report:
                    out.write(line.decode(errors="replace"))
                    out.flush()
            return json.loads(_line(self.control))["status"] == 0
        except KeyboardInterrupt:
            _stop_driver(driver)
            raise

    def _start(self, *args: str, pass_fds=()) -> subprocess.Popen:
        self.started = True
        checker = release_files.FOLDER / "check.py"
        return subprocess.Popen([sys.executable, str(checker), *args], pass_fds=pass_fds,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=release_files.FOLDER, start_new_session=True)

    def _own(self) -> socket.socket:
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.process = self._start("--warm-fd", str(theirs.fileno()), pass_fds=(theirs.fileno(),))
        theirs.close()
        return control

    def _shared(self) -> socket.socket:
        """A connection to the shared warm process, started first if none listens."""
        path = address()
        with _locked(path.parent):  # one check at a time connects, or starts it
            control = _connect(path)
            if control is not None:
                return control
            path.unlink(missing_ok=True)  # left by a process that was killed
            control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            process = self._start("--warm-socket", str(path))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    control.connect(str(path))
                    return control
                except (FileNotFoundError, ConnectionRefusedError):
                    time.sleep(0.01)
            control.close()
            raise RuntimeError("the checker's background process did not start; run `python -c \"import torch, "
                               "IPython\"` to see why")

    def close(self) -> None:
        """End this connection: a warm process of this command's own ends with it, a shared one waits."""
        self.control.close()
        if self.own:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()


def _stop_driver(driver: int) -> None:
    """End a check: the driver ends its runners on SIGTERM (their own sessions), SIGKILL if it must."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(driver, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(driver, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
