"""Grading-side control of sandboxed workers: one zygote per slot, one child per submission.

    sandbox = Sandbox(SandboxSettings.for_course(root, out_dir, submissions_dir), slot=0)
    session = sandbox.open(cells, notebook_bytes)   # forks a confined child, runs the cells
    reply = session.request({"op": "call", ...})     # per-call deadline, killed from outside
    session.close()                                  # kills everything under the slot's uid

Time limits are enforced here, in the grading process: when a reply does not arrive by its
deadline the child is SIGKILLed (through a pidfd, then every process of the slot's uid), which
no signal handler in the child can prevent. Replies are size-capped before they are read.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import confine, wire
from autograder.errors import BadReply, StudentTimeout, WorkerCrashed

UID_BASE = 1_000_000  # far above real accounts (and nobody = 65534)


def _isolation_default() -> str:
    return os.environ.get("AUTOGRADER_ISOLATION", "full")


@dataclass
class SandboxSettings:
    """Limits and file-system view for every submission (see ``confine.Confinement``).

    Times are seconds, sizes bytes. ``isolation`` is "full" or "none" (forced fallback:
    rlimits and outside time limits only; set AUTOGRADER_ISOLATION=none or --isolation none).
    """

    hide: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    call_timeout: float = 10.0
    load_timeout: float = 10.0
    submission_timeout: float = 60.0
    memory_bytes: int = 1 << 30
    max_processes: int = 1
    max_output_bytes: int = 1 << 20
    max_reply_bytes: int = 64 << 20
    isolation: str = field(default_factory=_isolation_default)

    @classmethod
    def for_course(cls, course_root: Path, *extra_hidden: Path, **overrides) -> SandboxSettings:
        """Hide the course (and its parent folder), the autograder package, temp folders and
        ``extra_hidden`` (output and submission folders); keep the Python installation."""
        import autograder
        course_root = Path(course_root).resolve()
        hide = [course_root, Path(autograder.__file__).resolve().parent,
                Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"),
                Path("/home"), Path("/root"), Path("/run"), Path("/mnt"), Path("/media"),
                Path("/srv"), *map(Path, extra_hidden)]
        if course_root.parent != Path("/"):
            hide.append(course_root.parent)
        keep = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                sysconfig.get_paths()["platlib"]}
        return cls(hide=[str(p) for p in hide], keep=sorted(keep), **overrides)


class Sandbox:
    """One grading slot: a zygote process and the unprivileged uid of its children."""

    def __init__(self, settings: SandboxSettings, slot: int = 0):
        self.settings = settings
        self.slot = slot
        # A uid per (grading process, slot): concurrent graders never share a uid.
        self.uid = UID_BASE + (os.getpid() % 1_000_000) * 16 + slot % 16
        self._zygote: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self.lost: list[str] = []
        self._warned = False
        # Private (a tmpfs in the child's own mount namespace) with full isolation; a real,
        # per-process folder in the fallback, removed after each submission.
        self.scratch = f"/tmp/autograder-{os.getpid()}-{slot}"

    # ---------------------------------------------------------------- zygote life cycle
    def _start_zygote(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # A minimal environment: a child can read the block it inherited (/proc/self/environ),
        # so the grader's own variables (tokens, paths) must never reach the zygote.
        import autograder
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": str(Path(autograder.__file__).resolve().parent.parent)}
        self._zygote = subprocess.Popen(
            [sys.executable, "-m", "autograder.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
            start_new_session=True)
        theirs.close()
        self._control = ours

    def _fork_child(self, child_end: socket.socket, stdout_fd: int) -> tuple[int, int | None]:
        try:
            return self._fork_child_once(child_end, stdout_fd)
        except (OSError, RuntimeError, ValueError):
            self.close()  # the zygote died (e.g. killed by the OOM killer): start a new one
            return self._fork_child_once(child_end, stdout_fd)

    def _fork_child_once(self, child_end: socket.socket, stdout_fd: int
                         ) -> tuple[int, int | None]:
        if self._zygote is None or self._zygote.poll() is not None:
            self.close()
            self._start_zygote()
        s = self.settings
        conf = confine.Confinement(
            hide=s.hide, keep=s.keep, scratch=self.scratch,
            uid=self.uid, gid=self.uid, memory_bytes=s.memory_bytes,
            cpu_seconds=int(s.submission_timeout) + 5, max_processes=s.max_processes,
            max_file_bytes=s.max_output_bytes, isolation=s.isolation)
        job = json.dumps({"confinement": asdict(conf)}).encode()
        socket.send_fds(self._control, [job], [child_end.fileno(), stdout_fd])
        message, fds, _, _ = socket.recv_fds(self._control, 4096, 1)
        if not message:
            raise RuntimeError("the sandbox zygote stopped")
        reply = json.loads(message)
        if "pid" not in reply:
            raise RuntimeError(f"the sandbox zygote refused a job: {reply}")
        return reply["pid"], (fds[0] if fds else None)

    def open(self, cells: list[str], notebook: bytes = b"") -> Session:
        """Fork a confined child, run the graded cells in it, return a Session."""
        return Session(self, cells, notebook)

    def warn_once(self) -> None:
        if self.lost and not self._warned:
            self._warned = True
            warnings.warn("sandbox weakened, protections lost: " + "; ".join(self.lost),
                          RuntimeWarning, stacklevel=3)

    def kill_all(self, pidfd: int | None, pid: int | None, scan: bool = True) -> None:
        """Kill the child (pidfd: no pid-reuse race) and every process of the slot's uid.

        ``scan=False`` skips the /proc scan for the uid; it is only honoured when the child
        could not have created processes (full isolation, nothing lost, one process allowed).
        """
        if pidfd is not None:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except (OSError, AttributeError):
                pass
        elif pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        confined = (self.settings.max_processes <= 1 and not self.lost and pidfd is not None)
        if scan or not confined:
            if os.geteuid() == 0 and self.settings.isolation == "full" and \
                    sys.platform == "linux":
                confine.kill_uid(self.uid)

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            self._zygote.kill()
            self._zygote.wait()
            self._zygote = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Session:
    """One submission's child process: load the cells once, then answer requests.

    If the child dies or is killed (a time-out), the next request starts a fresh child and
    runs the cells again, so one bad function does not cost the other tests; objects of the
    dead child become invalid (``generation`` counts restarts). The submission's total time
    (``submission_timeout``) covers every child.
    """

    def __init__(self, sandbox: Sandbox, cells: list[str], notebook: bytes):
        self.sandbox = sandbox
        self.cells = cells
        self.notebook = notebook
        self.settings = sandbox.settings
        self.started = time.monotonic()
        self.generation = 0
        self.names: dict[str, str] = {}
        self.load_errors: list[dict] = []
        self.events: list[str] = []
        self._sock: socket.socket | None = None
        self._pid: int | None = None
        self._pidfd: int | None = None
        self._stdout = tempfile.TemporaryFile()
        self._start()

    # ---------------------------------------------------------------- child life cycle
    def _remaining(self) -> float:
        return self.settings.submission_timeout - (time.monotonic() - self.started)

    def _deadline(self, limit: float) -> float:
        remaining = self._remaining()
        if remaining <= 0:
            raise StudentTimeout("the time budget for the whole submission "
                                 f"({self.settings.submission_timeout:g} s) is used up")
        return time.monotonic() + min(limit, remaining)

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._pid, self._pidfd = self.sandbox._fork_child(theirs, self._stdout.fileno())
        finally:
            theirs.close()
        self._sock = ours
        self.generation += 1
        deadline = self._deadline(self.settings.load_timeout)
        try:
            hello = json.loads(wire.receive_message(ours, 1 << 16, deadline))
            if not isinstance(hello, dict) or not hello.get("hello"):
                raise BadReply("the worker did not start properly")
            lost = hello.get("lost") or []
            self.sandbox.lost = [str(x) for x in lost][:20]
            self.sandbox.warn_once()
            reply = self._exchange({"op": "load", "cells": self.cells, "notebook": base64.
                                    b64encode(self.notebook).decode()}, deadline, "loading")
        except BaseException:
            self._kill()
            raise
        names = reply.get("names") if isinstance(reply, dict) else None
        errors = reply.get("errors") if isinstance(reply, dict) else None
        if not isinstance(names, dict) or not isinstance(errors, list):
            self._kill()
            raise BadReply("the worker's answer to loading the cells was malformed")
        self.names = {str(k)[:200]: str(v) for k, v in names.items()
                      if isinstance(k, str) and v in ("function", "class", "value")}
        if self.generation == 1:
            self.load_errors = [_clean_error(e) for e in errors[:50]]

    def _kill(self, scan: bool = True) -> None:
        self.sandbox.kill_all(self._pidfd, self._pid, scan)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._pid = None

    def _exchange(self, request: dict, deadline: float, what: str) -> dict:
        try:
            # A worker that stops reading must not block the grader: sends have a deadline too.
            self._sock.settimeout(max(0.001, deadline - time.monotonic()))
            wire.send_message(self._sock, json.dumps(request, allow_nan=False).encode())
            raw = wire.receive_message(self._sock, self.settings.max_reply_bytes, deadline)
        except (wire.WireTimeout, TimeoutError):
            self._kill()
            self.events.append(f"time-out while {what}")
            raise StudentTimeout(f"{what} took longer than the limit; it was stopped") from None
        except (wire.WireClosed, BrokenPipeError, ConnectionResetError):
            self._kill()
            self.events.append(f"worker died while {what}")
            raise WorkerCrashed(f"the process running your code died while {what} (a crash, "
                                "os._exit/sys.exit, or the memory limit)") from None
        except wire.WireTooLarge as error:
            self._kill()
            raise BadReply(str(error)) from None
        try:
            reply = json.loads(raw)
        except (ValueError, RecursionError):
            self._kill()
            raise BadReply("the worker sent a malformed reply") from None
        if not isinstance(reply, dict):
            raise BadReply("the worker sent a malformed reply")
        return reply

    def request(self, request: dict, what: str = "running your code") -> dict:
        """Send one request; restart the child first if it died. Returns the reply dict."""
        if self._sock is None:
            self._start()
        return self._exchange(request, self._deadline(self.settings.call_timeout), what)

    def printed(self, limit: int = 4000) -> str:
        """What the student's code printed (first ``limit`` characters)."""
        data = os.pread(self._stdout.fileno(), limit, 0)
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        self._kill(scan=bool(self.events))  # after a time-out or crash: scan the uid too
        self._stdout.close()
        if self.sandbox.lost and os.path.isdir(self.sandbox.scratch):
            shutil.rmtree(self.sandbox.scratch, ignore_errors=True)


def _clean_error(error) -> dict:
    if not isinstance(error, dict):
        return {"type": "Error", "message": "unreadable error", "cell": 0}
    return {"type": str(error.get("type", "Error"))[:100],
            "message": str(error.get("message", ""))[:2000],
            "cell": error.get("cell") if isinstance(error.get("cell"), int) else 0,
            "where": [str(w)[:300] for w in error.get("where", [])][:5]
            if isinstance(error.get("where"), list) else []}
