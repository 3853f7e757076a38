"""Grading-side control of sandboxed workers: one zygote per slot, one child per submission.

    sandbox = Sandbox(SandboxSettings.for_course(root, out_dir, submissions_dir), slot=0)
    session = sandbox.open(cells, notebook_bytes)   # forks a confined child, runs the cells
    reply = session.request({"op": "call", ...})     # per-call deadline, killed from outside
    session.close()                                  # kills everything under the slot's uid

Time limits are enforced here, in the grading process: when a reply does not arrive by its
deadline the child is SIGKILLed (through a pidfd; with it dies its PID namespace; as root also
every process of the slot's uid), which no signal handler in the child can prevent. Replies
are size-capped before they are read, and at most ``MAX_NAMES`` names of the student's
namespace are kept. Each child gets a fresh cgroup where the system offers one (``cgroups``)
and prints into a capped file in memory (``capture``); how the child confines itself is in
``confine``.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import cgroups, confine, linux, wire
from autograder.capture import OutputCapture
from autograder.errors import BadReply, StudentTimeout, WorkerCrashed

UID_BASE = 1_000_000  # far above real accounts (and nobody = 65534)
MAX_NAMES = 2000  # names of the student's namespace kept from a load reply ...
MAX_NAME_CHARS = 200  # ... each at most this long (longer ones are dropped)
MAX_LOAD_REPLY_BYTES = 4 << 20
CGROUP_SLACK_BYTES = 128 << 20  # page tables, copied pages of the zygote, kernel objects


def _isolation_default() -> str:
    return os.environ.get("AUTOGRADER_ISOLATION", "full")


@dataclass
class SandboxSettings:
    """Limits and file-system view for every submission (see ``confine.Confinement``).

    Times are seconds, sizes bytes. ``isolation`` is "full" or "none" (forced fallback:
    rlimits and outside time limits only; set AUTOGRADER_ISOLATION=none or --isolation none).
    The child sees the system and the Python installation only (``view``); ``keep`` adds
    folders shown read-only, ``hide`` names folders covered even inside a shown one.
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
    scratch_bytes: int = 16 << 20
    scratch_inodes: int = 1024
    ipc_bytes: int = 16 << 20
    isolation: str = field(default_factory=_isolation_default)

    @classmethod
    def for_course(cls, course_root: Path, *extra_hidden: Path, **overrides) -> SandboxSettings:
        """Settings that hide the course, the ``autograder`` and ``utils`` packages and
        ``extra_hidden`` (output and submission folders) even where they lie inside a shown
        folder (a course installed into site-packages); nothing else is shown anyway."""
        import autograder
        course_root = Path(course_root).resolve()
        packages = Path(autograder.__file__).resolve().parent
        hide = [course_root, packages, packages.parent / "utils", *map(Path, extra_hidden)]
        return cls(hide=[str(p) for p in hide], keep=[], **overrides)


class Sandbox:
    """One grading slot: a zygote process and the unprivileged uid of its children."""

    def __init__(self, settings: SandboxSettings, slot: int = 0):
        self.settings = settings
        self.slot = slot
        # A uid per (grading process, slot): concurrent graders never share a uid.
        self.uid = UID_BASE + (os.getpid() % 1_000_000) * 16 + slot % 16
        self._zygote: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._cgroups: cgroups.ChildCgroups | None = None
        self._root = linux.is_real_root()
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

    def _fork_child(self, child_end: socket.socket, stdout_fd: int, folders: list[str]
                    ) -> tuple[int, int | None]:
        try:
            return self._fork_child_once(child_end, stdout_fd, folders)
        except (OSError, RuntimeError, ValueError):
            self.close(keep_cgroups=True)  # the zygote died (e.g. OOM-killed): start anew
            return self._fork_child_once(child_end, stdout_fd, folders)

    def new_cgroups(self) -> list[str]:
        """Fresh cgroup folders for the next child (empty where the system offers none)."""
        s = self.settings
        if s.isolation != "full" or not sys.platform.startswith("linux"):
            return []
        if self._cgroups is None:
            self._cgroups = cgroups.ChildCgroups(
                f"autograder-{os.getpid()}-{self.slot}",
                s.memory_bytes + s.scratch_bytes + s.ipc_bytes + CGROUP_SLACK_BYTES,
                s.max_processes + 1)  # + 1: the parent waiting outside the PID namespace
        try:
            return self._cgroups.new_child()
        except OSError:
            return []

    def release_cgroups(self, folders: list[str]) -> None:
        if self._cgroups is not None and folders:
            self._cgroups.release(folders)

    def _fork_child_once(self, child_end: socket.socket, stdout_fd: int, folders: list[str]
                         ) -> tuple[int, int | None]:
        if self._zygote is None or self._zygote.poll() is not None:
            self.close(keep_cgroups=True)
            self._start_zygote()
        s = self.settings
        conf = confine.Confinement(
            hide=s.hide, keep=s.keep, scratch=self.scratch,
            uid=self.uid, gid=self.uid, memory_bytes=s.memory_bytes,
            cpu_seconds=int(s.submission_timeout) + 5, max_processes=s.max_processes,
            max_file_bytes=s.max_output_bytes, scratch_bytes=s.scratch_bytes,
            scratch_inodes=s.scratch_inodes, ipc_bytes=s.ipc_bytes, cgroups=folders,
            isolation=s.isolation)
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
            if self._root and self.settings.isolation == "full" and \
                    sys.platform == "linux":
                confine.kill_uid(self.uid)

    def close(self, keep_cgroups: bool = False) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            self._zygote.kill()
            self._zygote.wait()
            self._zygote = None
        if self._cgroups is not None and not keep_cgroups:
            self._cgroups.close()
            self._cgroups = None

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
        self._cgroups: list[str] = []
        self._stdout = OutputCapture()
        try:
            self._start()
        except BaseException:
            self._stdout.close()
            raise

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
        self._cgroups = self.sandbox.new_cgroups()
        try:
            self._pid, self._pidfd = self.sandbox._fork_child(theirs, self._stdout.fileno(),
                                                              self._cgroups)
        except BaseException:
            ours.close()
            self.sandbox.release_cgroups(self._cgroups)
            self._cgroups = []
            raise
        finally:
            theirs.close()
        self._sock = ours
        self.generation += 1
        deadline = self._deadline(self.settings.load_timeout)
        try:
            hello = json.loads(wire.receive_message(ours, 1 << 16, deadline))
            if not isinstance(hello, dict) or not hello.get("hello"):
                why = hello.get("error") if isinstance(hello, dict) else None
                raise BadReply("the worker did not start properly" +
                               (f": {str(why)[:500]}" if why else ""))
            lost = hello.get("lost") or []
            self.sandbox.lost = [str(x) for x in lost][:20]
            self.sandbox.warn_once()
            reply = self._exchange({"op": "load", "cells": self.cells, "notebook": base64.
                                    b64encode(self.notebook).decode()}, deadline, "loading",
                                   MAX_LOAD_REPLY_BYTES)
        except BaseException:
            self._kill()
            raise
        try:
            names, errors = accept_load_reply(reply)
        except BadReply:
            self._kill()
            raise
        self.names = names
        if self.generation == 1:
            self.load_errors = errors

    def _kill(self, scan: bool = True) -> None:
        self.sandbox.kill_all(self._pidfd, self._pid, scan)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._pid = None
        self.sandbox.release_cgroups(self._cgroups)
        self._cgroups = []

    def _exchange(self, request: dict, deadline: float, what: str,
                  max_bytes: int | None = None) -> dict:
        try:
            # A worker that stops reading must not block the grader: sends have a deadline too.
            self._sock.settimeout(max(0.001, deadline - time.monotonic()))
            wire.send_message(self._sock, json.dumps(request, allow_nan=False).encode())
            raw = wire.receive_message(self._sock, max_bytes or self.settings.max_reply_bytes,
                                       deadline)
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
        return self._stdout.read(limit).decode("utf-8", "replace")[:limit]

    def close(self) -> None:
        self._kill(scan=bool(self.events))  # after a time-out or crash: scan the uid too
        self._stdout.close()
        if self.sandbox.lost and os.path.isdir(self.sandbox.scratch):
            shutil.rmtree(self.sandbox.scratch, ignore_errors=True)


def accept_load_reply(reply) -> tuple[dict[str, str], list[dict]]:
    """The worker's answer to loading the cells, as the grader keeps it.

    Inputs: reply, the decoded (untrusted) reply to {"op": "load"}.
    Returns (names, errors): at most ``MAX_NAMES`` names of at most ``MAX_NAME_CHARS``
    characters, each "function", "class" or "value"; at most 50 cleaned error records.
    Raises BadReply when the reply is not of that shape.
    """
    names = reply.get("names") if isinstance(reply, dict) else None
    errors = reply.get("errors") if isinstance(reply, dict) else None
    if not isinstance(names, dict) or not isinstance(errors, list):
        raise BadReply("the worker's answer to loading the cells was malformed")
    kept = {k: v for k, v in itertools.islice(names.items(), MAX_NAMES)
            if isinstance(k, str) and len(k) <= MAX_NAME_CHARS
            and v in ("function", "class", "value")}
    return kept, [_clean_error(e) for e in errors[:50]]


def _clean_error(error) -> dict:
    if not isinstance(error, dict):
        return {"type": "Error", "message": "unreadable error", "cell": 0}
    return {"type": str(error.get("type", "Error"))[:100],
            "message": str(error.get("message", ""))[:2000],
            "cell": error.get("cell") if isinstance(error.get("cell"), int) else 0,
            "where": [str(w)[:300] for w in error.get("where", [])][:5]
            if isinstance(error.get("where"), list) else []}
