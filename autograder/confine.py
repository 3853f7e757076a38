"""Kernel facilities that confine the sandboxed child (Linux; used as root when available).

Everything here runs in the freshly forked child, before any student code. Each step that the
kernel refuses is *recorded* (``lost`` list of protection names) rather than silently skipped,
so the grader can warn in words about what protection was lost.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
import sys
from dataclasses import dataclass, field

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True) \
    if sys.platform.startswith("linux") else None


@dataclass
class Confinement:
    """What the child must do to itself. Paths are absolute strings.

    - hide: directories covered by an empty read-only tmpfs (course, outputs, submissions, /tmp..)
    - keep: directories inside hidden ones that stay visible read-only (the Python install)
    - scratch: the working directory created for the submission (a small private tmpfs)
    - uid, gid: the unprivileged identity of this grading slot
    - memory_bytes, cpu_seconds, max_processes, max_file_bytes, max_open_files: rlimits
    - isolation: "full" (namespaces + uid + rlimits) or "none" (rlimits only, forced fallback)
    """

    hide: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    scratch: str = "/tmp/autograder-submission"
    uid: int = 0
    gid: int = 0
    memory_bytes: int = 1 << 30
    cpu_seconds: int = 120
    max_processes: int = 1
    max_file_bytes: int = 1 << 20
    max_open_files: int = 64
    scratch_bytes: int = 16 << 20
    isolation: str = "full"


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = ""):
    def enc(text):
        return text.encode() if text is not None else None
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags),
                       enc(data)), f"mount {target}")


def prctl(option: int, value: int) -> None:
    if _libc is not None:
        _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _hidden_roots(hide: list[str]) -> list[str]:
    """Existing hidden directories, outermost only (a hidden path inside another is covered)."""
    roots: list[str] = []
    for path in sorted({os.path.realpath(p) for p in hide if os.path.isdir(p)}, key=len):
        if path != "/" and not any(path == r or path.startswith(r + "/") for r in roots):
            roots.append(path)
    return roots


def _private_view(conf: Confinement) -> None:
    """New mount, network and IPC namespaces; hide directories; keeps read-only; scratch."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keeps = {os.path.realpath(k): os.open(os.path.realpath(k), os.O_PATH)
             for k in conf.keep if os.path.isdir(k)}
    scratch = os.path.realpath(conf.scratch) if os.path.isabs(conf.scratch) else conf.scratch
    for root in _hidden_roots(conf.hide):
        _mount("none", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        for keep, fd in keeps.items():
            if keep == root or keep.startswith(root + "/"):
                os.makedirs(keep, exist_ok=True)
                _mount(f"/proc/self/fd/{fd}", keep, None, MS_BIND | MS_REC)
                _mount(None, keep, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
        if scratch.startswith(root + "/"):
            os.makedirs(scratch, exist_ok=True)
        _mount("none", root, "tmpfs", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
               "size=1m,mode=0755")
    for fd in keeps.values():
        os.close(fd)
    os.makedirs(scratch, exist_ok=True)
    _mount("none", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={conf.scratch_bytes},mode=0700,uid={conf.uid},gid={conf.gid}")


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limits(conf: Confinement, lost: list[str]) -> None:
    limits = [(resource.RLIMIT_CPU, conf.cpu_seconds, "CPU-time limit"),
              (resource.RLIMIT_AS, _vm_bytes() + conf.memory_bytes, "memory limit"),
              (resource.RLIMIT_FSIZE, conf.max_file_bytes, "output-size limit"),
              (resource.RLIMIT_NOFILE, conf.max_open_files, "open-file limit"),
              (resource.RLIMIT_CORE, 0, "no core dumps")]
    if hasattr(resource, "RLIMIT_NPROC"):
        limits.append((resource.RLIMIT_NPROC, conf.max_processes, "process-count limit"))
    for which, value, name in limits:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            lost.append(name)


def enter(conf: Confinement, keep_fds: list[int], stdout_fd: int) -> list[str]:
    """Confine the current (child) process. Returns the names of protections that were lost.

    Order matters: namespaces and mounts need root, so they come first; then rlimits; then
    the switch to the slot's unprivileged uid; then no-new-privs; finally the descriptors.
    """
    lost: list[str] = []
    os.setsid()
    linux = _libc is not None
    if linux:
        try:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            lost.append("death with the grader")
    full = conf.isolation == "full"
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if full and linux and root:
        try:
            _private_view(conf)
        except OSError as error:
            lost += ["private file-system view (solutions, suites and other submissions "
                     f"stay readable: {error})", "no network"]
            os.makedirs(conf.scratch, exist_ok=True)
    else:
        lost += ["private file-system view (solutions, suites and other submissions stay "
                 "readable)", "no network"]
        os.makedirs(conf.scratch, exist_ok=True)
    os.chdir(conf.scratch)
    _limits(conf, lost)
    if full and root:
        try:
            os.setgroups([])
            os.setgid(conf.gid)
            os.setuid(conf.uid)
        except OSError:
            lost.append("unprivileged user (the code runs with the grader's rights)")
    else:
        lost.append("unprivileged user (the code runs with the grader's rights)")
    if linux:
        try:
            prctl(PR_SET_NO_NEW_PRIVS, 1)
        except OSError:
            lost.append("no-new-privileges")
        try:  # again: the kernel clears the parent-death signal when the uid changes
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            lost.append("death with the grader")
    os.dup2(stdout_fd, 1)
    os.dup2(stdout_fd, 2)
    os.closerange(3, 4096) if not keep_fds else _close_except(keep_fds)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-long output: an error, not a kill
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update({"HOME": os.getcwd(), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1"})
    return lost


def _close_except(keep: list[int]) -> None:
    low = 3
    for fd in sorted(set(keep)):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 4096)


def kill_uid(uid: int) -> int:
    """SIGKILL every process whose real uid is ``uid`` (Linux /proc). Returns how many."""
    killed = 0
    for _ in range(20):  # repeat: a process may fork while we scan (NPROC keeps this short)
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as status:
                    for line in status:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == uid:
                                os.kill(int(entry), signal.SIGKILL)
                                found += 1
                            break
            except (OSError, ValueError):
                continue
        killed += found
        if not found:
            break
    return killed


def processes_of(uid: int) -> list[int]:
    """Pids of live (non-zombie) processes whose real uid is ``uid`` (Linux /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            pids.append(int(entry))
    return pids
