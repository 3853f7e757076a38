"""Thin ctypes wrappers for the Linux calls the sandbox makes (mounts, namespaces, capabilities).

Nothing here decides anything: ``confine``, ``namespaces`` and ``view`` choose what to call
and in which order. Every wrapper raises ``OSError`` (with the call named in the message)
when the kernel refuses, so the caller can record the protection as lost. On other systems
``LINUX`` is False and the wrappers raise ``OSError(ENOSYS)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import sys

LINUX = sys.platform.startswith("linux")

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
MNT_DETACH = 2

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_SECUREBITS, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 28, 36, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# No root privileges through uid 0 or exec, locked; no ambient capabilities, locked.
SECURE_NO_ROOT = 1 | 2 | 32 | 64 | 128

KEYCTL_JOIN_SESSION_KEYRING = 1
_KEYCTL = {"x86_64": 250, "aarch64": 219, "riscv64": 219}  # system call numbers

MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 1, 2, 4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True) \
    if LINUX else None


def is_real_root() -> bool:
    """Uid 0 of the initial user namespace (not the "root" of a container's user namespace,
    which cannot create cgroups or switch to an unmapped uid)."""
    if not LINUX or os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as handle:
            return handle.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def _libc_call(name: str):
    function = getattr(_libc, name, None) if _libc is not None else None
    if function is None:
        raise OSError(errno.ENOSYS, f"{name}: not available on this system")
    return function


def _bytes(text: str | None) -> bytes | None:
    return os.fsencode(text) if text is not None else None


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str = "") -> None:
    """mount(2). ``target`` may be a ``/proc/self/fd/N`` path (a descriptor opened earlier)."""
    _check(_libc_call("mount")(_bytes(source), _bytes(target), _bytes(fstype),
                               ctypes.c_ulong(flags), _bytes(data)), f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    _check(_libc_call("umount2")(_bytes(target), flags), f"umount {target}")


def unshare(flags: int) -> None:
    _check(_libc_call("unshare")(flags), "unshare")


def pivot_root(new_root: str, put_old: str) -> None:
    function = getattr(_libc, "pivot_root", None) if _libc is not None else None
    if function is None:  # older C libraries: the system call itself (x86_64 and arm64)
        number = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
        if number is None:
            raise OSError(errno.ENOSYS, "pivot_root: unknown system call number")
        _check(_libc.syscall(number, _bytes(new_root), _bytes(put_old)), "pivot_root")
        return
    _check(function(_bytes(new_root), _bytes(put_old)), "pivot_root")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def mount_setattr_read_only(target: str) -> None:
    """Make the mount at ``target`` and every mount below it read-only, nosuid and nodev
    (mount_setattr(2), Linux 5.12+). Raises OSError(ENOSYS) on older kernels."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    _check(_libc_call("mount_setattr")(AT_FDCWD, _bytes(target), AT_RECURSIVE,
                                       ctypes.byref(attr), ctypes.sizeof(attr)),
           f"mount_setattr {target}")


def prctl(option: int, value: int = 0, arg3: int = 0) -> None:
    _check(_libc_call("prctl")(option, ctypes.c_ulong(value), ctypes.c_ulong(arg3), 0, 0),
           f"prctl {option}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Give up every capability for good: ambient set cleared, bounding set emptied (so no
    exec can bring any back), uid 0 given no special meaning (locked), then the effective,
    permitted and inheritable sets emptied. Raises OSError if any step is refused."""
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    cap = 0
    while True:  # up to the kernel's last capability (EINVAL after it)
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as error:
            if error.errno != errno.EINVAL or cap < 32:
                raise
            break
        cap += 1
    prctl(PR_SET_SECUREBITS, SECURE_NO_ROOT)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc_call("capset")(ctypes.byref(header), ctypes.byref(data)), "capset")


def join_new_session_keyring() -> None:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new, empty, anonymous session keyring."""
    number = _KEYCTL.get(platform.machine())
    if _libc is None or number is None:
        raise OSError(errno.ENOSYS, "keyctl: unknown system call number")
    _check(_libc.syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None), "keyctl")
