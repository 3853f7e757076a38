"""The sandboxed child's own namespaces, and the limits that live inside them (Linux).

What each one protects against:
- mount namespace: the child's file-system view (``view``) changes nothing for anyone else;
- network namespace: no network at all (not even loopback: its interface stays down);
- IPC namespace, with small System V limits (``limit_ipc``): shared-memory segments are not
  counted by RLIMIT_AS (create, attach, touch, detach, repeat) and message queues and
  semaphores are kernel memory; here they are capped and vanish with the child;
- user namespace: for a normal user (``enter_as_user``) it is created first and owns the
  others; as root the child enters one at the end, after dropping to the slot's uid. In both
  cases ``limit_user_namespaces`` forbids new namespaces inside it (without this the code
  could create a user namespace of its own, become root there and mount a tmpfs that no
  limit counts) and the child's user keyrings are new and empty (keys are kept per user
  namespace), so consecutive students share nothing;
- PID namespace, for a normal user (``become_pid_one``): the code runs under the
  instructor's own uid, so without it it could signal or trace the instructor's other
  processes (the grader, a Jupyter server); as PID 1 of its own namespace it cannot name any
  process outside, and when it dies everything it could have left behind dies with it. (As
  root the code runs under the slot's own uid, which reaches no other process, and the
  grader kills every process of that uid; an extra fork per submission is saved.)
"""

from __future__ import annotations

import os
import signal

from autograder import linux

IPC_SYSCTLS = "/proc/sys/kernel"
MQUEUE_SYSCTLS = "/proc/sys/fs/mqueue"
USER_SYSCTLS = "/proc/sys/user"
# Per user namespace: none of these may be created inside the child's namespace.
USER_LIMITS = ("max_user_namespaces", "max_pid_namespaces", "max_net_namespaces",
               "max_mnt_namespaces", "max_ipc_namespaces", "max_uts_namespaces",
               "max_cgroup_namespaces", "max_time_namespaces", "max_inotify_instances",
               "max_inotify_watches", "max_fanotify_groups", "max_fanotify_marks")
_OWNED = linux.CLONE_NEWNS | linux.CLONE_NEWNET | linux.CLONE_NEWIPC | linux.CLONE_NEWPID


def _write(path: str, text: str, dir_fd: int | None = None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def enter_as_root() -> None:
    """New mount, network and IPC namespaces, owned by the real root (no user namespace)."""
    linux.unshare(linux.CLONE_NEWNS | linux.CLONE_NEWNET | linux.CLONE_NEWIPC)


def enter_as_user() -> None:
    """A new user namespace (the caller becomes uid 0 in it, with every capability there and
    none outside), owning new mount, network, IPC and PID namespaces."""
    uid, gid = os.getuid(), os.getgid()
    linux.unshare(linux.CLONE_NEWUSER | _OWNED)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")


def private_mounts() -> None:
    """Mount events stop propagating to and from the host (needed before any mount)."""
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)


def limit_ipc(ipc_bytes: int) -> None:
    """Cap System V IPC in the (new) IPC namespace: shared memory to ``ipc_bytes`` in at most
    16 segments, message queues to 16 x 64 KB, semaphores to 512; no POSIX message queues."""
    page = os.sysconf("SC_PAGE_SIZE")
    for name, value in (("shmmax", ipc_bytes), ("shmall", max(1, ipc_bytes // page)),
                        ("shmmni", 16), ("msgmni", 16), ("msgmnb", 65536), ("msgmax", 8192),
                        ("sem", "32 512 32 16")):
        _write(f"{IPC_SYSCTLS}/{name}", str(value))
    if os.path.isdir(MQUEUE_SYSCTLS):
        _write(f"{MQUEUE_SYSCTLS}/queues_max", "0")


def limit_user_namespaces(dir_fd: int | None = None) -> None:
    """No namespace, inotify or fanotify object may be created inside the current user
    namespace (its /proc/sys/user limits set to 0). ``dir_fd``: an open /proc/sys/user
    (for use after /proc went out of sight). Raises OSError when a limit cannot be set."""
    base = USER_SYSCTLS if dir_fd is None else "."
    for name in USER_LIMITS:
        try:
            _write(f"{base}/{name}", "0", dir_fd)
        except FileNotFoundError:  # an older kernel without this limit (the first is needed)
            if name == "max_user_namespaces":
                raise


def become_pid_one() -> None:
    """Fork; the child (PID 1 of the new PID namespace) returns, the parent waits for it and
    exits with it. The parent keeps no descriptor, so when PID 1 dies its sockets close;
    killing the parent (the pid the grader holds) kills PID 1 (parent-death signal), and
    with PID 1 every process of the namespace."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        return
    os.closerange(0, 65536)
    try:
        os.waitpid(pid, 0)
    finally:
        os._exit(0)
