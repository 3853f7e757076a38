"""The zygote: a long-lived, trusted process per grading slot that forks one child per submission.

Started by ``autograder.sandbox.Sandbox`` as ``python -m autograder.zygote FD``. It imports
numpy and the worker code once (so a submission costs a fork, not an interpreter start), and
holds nothing secret: no suites, no reference, no other submissions. Requests arrive on the
control socket FD as a JSON job plus two passed descriptors (the child's socket and its
stdout capture file); the reply is the child's pid and a pidfd for race-free killing.
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

from autograder import confine, worker  # noqa: E402


def _child(job: dict, child_sock: socket.socket, stdout_fd: int) -> None:
    conf = confine.Confinement(**job["confinement"])
    try:
        lost = confine.enter(conf, [child_sock.fileno()], stdout_fd)
        worker.serve(child_sock, {"hello": True, "lost": lost, "uid": os.getuid()})
    finally:
        os._exit(0)


def main(fd: int) -> None:
    control = socket.socket(fileno=fd)
    try:
        confine.prctl(confine.PR_SET_CHILD_SUBREAPER, 1)  # orphans come back here ...
        confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
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
