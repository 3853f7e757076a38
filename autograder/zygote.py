"""The zygote: a long-lived, trusted process per grading slot that forks one child per submission.

Started by ``autograder.sandbox.Sandbox`` as ``python -m autograder.zygote FD``. It imports
numpy and everything the worker needs from the course (``autograder.worker``, ``codec``,
``wire`` and ``utils.rules``) once, *before* any child hides the course from itself (the
child's view shows only the system and the Python installation), so a submission costs a fork,
not an interpreter start. It holds nothing secret: no suites, no reference, no other
submissions. Requests arrive on the control socket FD as a JSON job plus two passed
descriptors (the child's socket and its stdout capture file); the reply is the child's pid
and a pidfd for race-free killing.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import json  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

import numpy  # noqa: E402, F401  - imported once here, shared by every forked child

import utils.rules  # noqa: E402, F401  - used by the worker; out of the child's sight later
from autograder import codec, confine, linux, view, wire, worker  # noqa: E402, F401

view.python_dirs()  # computed once, inherited by every child
REAL_ROOT = linux.is_real_root()


def _child(job: dict, child_sock: socket.socket, stdout_fd: int) -> None:
    try:
        conf = confine.Confinement(**job["confinement"])
        lost = confine.enter(conf, [child_sock.fileno()], stdout_fd)
        worker.serve(child_sock, {"hello": True, "lost": list(dict.fromkeys(lost)),
                                  "uid": os.getuid()})
    except BaseException as error:  # noqa: BLE001 - told to the grader, then exit
        try:
            wire.send_message(child_sock, json.dumps(
                {"hello": False, "error": str(error)[:500]}).encode())
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(0)


def main(fd: int) -> None:
    control = socket.socket(fileno=fd)
    try:
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)  # orphans come back here ...
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ... and are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the grader, which stops us
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
        except OSError:
            return
        if not message:
            return
        job = json.loads(message)
        try:  # the child's view is worked out here once, so each child only mounts
            confine.plan(confine.Confinement(**job["confinement"]), REAL_ROOT)
        except (TypeError, KeyError, OSError):
            pass  # the child meets the same problem and reports it
        if len(fds) != 2:
            for extra in fds:
                os.close(extra)
            control.sendall(json.dumps({"error": "expected two descriptors"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            _child(job, socket.socket(fileno=fds[0]), fds[1])
        for passed in fds:
            os.close(passed)
        try:
            pidfd = [os.pidfd_open(pid)]
        except (OSError, AttributeError):
            pidfd = []
        socket.send_fds(control, [json.dumps({"pid": pid}).encode()], pidfd)
        for extra in pidfd:
            os.close(extra)


if __name__ == "__main__":
    main(int(sys.argv[1]))
