"""The order in which the sandboxed child confines itself, before any student code exists.

Everything here runs in the child freshly forked by the zygote. A step the kernel refuses is
*recorded* (the ``lost`` list of protection names) rather than silently skipped, so the grader
can warn in words (stderr, run.json, results) about what protection was lost.

Full isolation (Linux), as root:
 1. a new session; the child dies with the zygote (parent-death signal);
 2. it joins its fresh cgroup (``cgroups``): memory (shared and kernel memory included) and
    task limits;
 3. new mount, network and IPC namespaces (``namespaces``); small System V limits in the
    IPC namespace;
 4. (a normal user only: see below);
 5. the allow-list view (``view``): pivot_root into a fresh read-only root holding the
    system, the Python installation and a size- and inode-limited scratch tmpfs;
 6. a new session keyring; the switch to the slot's unprivileged uid/gid; then a user
    namespace of its own in which no namespace may be created (fresh user keyrings);
 7. every capability dropped for good; rlimits; no-new-privileges;
 8. descriptors: the worker's socket, and stdout/stderr to the capture file (``capture``).
As a normal user, step 2 happens only where a delegated cgroup exists; step 3 starts with a
user namespace (uid 0 inside, mapped to the instructor; capabilities only inside) that owns
the others, a PID namespace among them, and the namespace limits are set right away; in
step 4 the child forks once more and the grandchild, PID 1 of the new PID namespace, runs the
code while the parent only waits (``namespaces.become_pid_one``); step 6 has no uid switch:
the user and PID namespaces keep the code away from the instructor's files and processes.
"""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass, field

from autograder import cgroups, linux, namespaces, view

LOST_VIEW = "private file-system view (solutions, suites and other submissions stay readable)"
LOST_NETWORK = "no network"
LOST_USER = "unprivileged user (the code runs with the grader's rights)"
LOST_SHARED_MEMORY = ("shared-memory limit (System V shared memory is not counted by the "
                      "memory limit)")
LOST_USER_NAMESPACES = ("no new user namespaces (the code may create one and mount a tmpfs "
                        "that no limit counts)")
LOST_KEYRING = "fresh keyring per submission (keys may pass from one submission to the next)"
LOST_CGROUP = "memory cgroup (shared and kernel memory counted)"
LOST_SCRATCH = ("size- and file-count-limited scratch folder (the code writes into a folder "
                "on the host's disk)")


class ConfinementFailed(RuntimeError):
    """A step that must not fail failed: no student code may run in this child."""


@dataclass
class Confinement:
    """What the child must do to itself. Paths are absolute strings, sizes bytes.

    - hide: folders never visible, even inside a shown one (course, autograder package,
      outputs, submissions)
    - keep: folders shown read-only besides the system and the Python installation
    - scratch: the writable working folder (a private tmpfs of ``scratch_bytes`` holding at
      most ``scratch_inodes`` files and folders)
    - uid, gid: the unprivileged identity of this grading slot (root only)
    - memory_bytes (above the baseline), cpu_seconds, max_processes, max_file_bytes,
      max_open_files: rlimits; ipc_bytes: System V shared memory allowed in the namespace
    - cgroups: fresh cgroup folders to join (root, or a delegated cgroup; may be empty)
    - isolation: "full" (namespaces, view, uid, limits) or "none" (limits only, forced)
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
    scratch_inodes: int = 1024
    ipc_bytes: int = 16 << 20
    cgroups: list[str] = field(default_factory=list)
    isolation: str = "full"


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limits(conf: Confinement, baseline: int, lost: list[str]) -> None:
    limits = [(resource.RLIMIT_CPU, conf.cpu_seconds, "CPU-time limit"),
              (resource.RLIMIT_AS, baseline + conf.memory_bytes, "memory limit"),
              (resource.RLIMIT_FSIZE, conf.max_file_bytes, "output-size limit"),
              (resource.RLIMIT_NOFILE, conf.max_open_files, "open-file limit"),
              (resource.RLIMIT_CORE, 0, "no core dumps")]
    if hasattr(resource, "RLIMIT_NPROC"):
        limits.append((resource.RLIMIT_NPROC, conf.max_processes, "process-count limit"))
    if hasattr(resource, "RLIMIT_MSGQUEUE"):
        limits.append((resource.RLIMIT_MSGQUEUE, 0, "no POSIX message queues"))
    for which, value, name in limits:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            lost.append(name)


_plans: dict[tuple, view.Plan] = {}


def plan(conf: Confinement, root: bool) -> view.Plan:
    """The child's view for these settings (computed once: the zygote calls this before it
    forks, so each child only mounts)."""
    key = (tuple(conf.hide), tuple(conf.keep), conf.scratch, conf.scratch_bytes,
           conf.scratch_inodes, conf.uid, conf.gid, root)
    if key not in _plans:
        system, links = view.system_dirs()
        owner = f",uid={conf.uid},gid={conf.gid}" if root else ""
        _plans[key] = view.Plan(
            shown=[*system, *view.python_dirs(), *conf.keep], links=links, hidden=conf.hide,
            scratch=conf.scratch, scratch_options=f"size={conf.scratch_bytes},nr_inodes="
                                                  f"{conf.scratch_inodes},mode=0700{owner}")
        _plans[key].prepare()
    return _plans[key]


def _switch_user(conf: Confinement, lost: list[str]) -> None:
    try:
        os.setgroups([])
        os.setresgid(conf.gid, conf.gid, conf.gid)
        os.setresuid(conf.uid, conf.uid, conf.uid)
    except OSError:
        lost.append(LOST_USER)


def _forbid_user_namespaces(lost: list[str], dir_fd: int | None = None) -> None:
    try:
        namespaces.limit_user_namespaces(dir_fd)
    except OSError:
        lost.append(LOST_USER_NAMESPACES)


def _isolate(conf: Confinement, root: bool, lost: list[str]) -> bool:
    """Steps 2-6. Returns False when the namespaces were refused (limits only)."""
    if conf.cgroups:
        try:
            cgroups.join(conf.cgroups)
        except OSError as error:
            lost.append(f"{LOST_CGROUP}: {error.strerror or error}")
    try:
        namespaces.enter_as_root() if root else namespaces.enter_as_user()
        namespaces.private_mounts()
    except OSError as error:
        lost += [f"{LOST_VIEW}: {error.strerror or error}", LOST_NETWORK]
        if not root:
            lost.append(LOST_USER)
        return False
    try:
        namespaces.limit_ipc(conf.ipc_bytes)
    except OSError:
        if not conf.cgroups or any(x.startswith(LOST_CGROUP) for x in lost):
            lost.append(LOST_SHARED_MEMORY)
    sys_user = None
    if root:  # kept open: the user namespace is made after /proc went out of sight
        sys_user = os.open(namespaces.USER_SYSCTLS, os.O_RDONLY | os.O_DIRECTORY)
    else:
        _forbid_user_namespaces(lost)
        namespaces.become_pid_one()
    try:
        view.build(plan(conf, root))
    except OSError as error:
        lost += [f"{LOST_VIEW}: {error.strerror or error}", LOST_SCRATCH]
        os.makedirs(conf.scratch, exist_ok=True)
        os.chdir(conf.scratch)
    try:
        linux.join_new_session_keyring()
    except OSError:
        lost.append(LOST_KEYRING)
    if root:
        _switch_user(conf, lost)
        try:
            linux.unshare(linux.CLONE_NEWUSER)
        except OSError:
            # The kernel refuses this uid a user namespace: the code is refused one too, but
            # the slot uid's user keyring is shared by the submissions of this slot.
            lost.append(LOST_KEYRING)
        else:
            _forbid_user_namespaces(lost, sys_user)
        os.close(sys_user)
    try:
        linux.drop_capabilities()
    except OSError as error:
        if not root or os.geteuid() == 0:
            raise ConfinementFailed(f"the sandbox could not drop its privileges: {error}") \
                from None
    return True


def _limits_only(conf: Confinement, root: bool, lost: list[str]) -> None:
    """The fallback: a scratch folder on the host, the slot's uid (as root), a fresh session
    keyring; what this leaves open is added to ``lost``."""
    os.makedirs(conf.scratch, exist_ok=True)
    os.chdir(conf.scratch)
    lost += [LOST_SCRATCH, LOST_SHARED_MEMORY, LOST_KEYRING]
    if conf.isolation != "full":  # (with "full" the kernel refused us a user namespace: the
        lost.append(LOST_USER_NAMESPACES)  # code is refused one too)
    if linux.LINUX:
        try:
            linux.join_new_session_keyring()
        except OSError:
            pass
    if root and conf.isolation == "full":
        _switch_user(conf, lost)
    elif root:
        lost.append(LOST_USER)


def enter(conf: Confinement, keep_fds: list[int], stdout_fd: int) -> list[str]:
    """Confine the current (child) process. Returns the names of protections that were lost.

    Raises ConfinementFailed when the child must not run student code at all. With full
    isolation as a normal user the calling process becomes a waiting parent that never
    returns; its child, PID 1 of a new PID namespace, returns from here.
    """
    lost: list[str] = []
    os.setsid()
    if linux.LINUX:
        try:
            linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            lost.append("death with the grader")
    baseline = _vm_bytes()
    root = linux.is_real_root()
    isolated = False
    if conf.isolation == "full" and linux.LINUX:
        isolated = _isolate(conf, root, lost)
    else:
        lost += [LOST_VIEW, LOST_NETWORK]
        if not root:
            lost.append(LOST_USER)
    if not isolated:
        _limits_only(conf, root, lost)
    _limits(conf, baseline, lost)
    if linux.LINUX:
        try:
            linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        except OSError:
            lost.append("no-new-privileges")
        try:  # again: the kernel clears the parent-death signal when the uid changes
            linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            lost.append("death with the grader")
    os.dup2(stdout_fd, 1)
    os.dup2(stdout_fd, 2)
    _close_except(keep_fds)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-long output: an error, not a kill
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update({"HOME": os.getcwd(), "TMPDIR": os.getcwd(), "PATH": "/usr/bin:/bin",
                       "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1"})
    return lost


def _close_except(keep: list[int]) -> None:
    low = 3
    for fd in sorted(set(keep)):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 65536)


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
