"""The sandboxed child's file-system view: an allow-list, built fresh for every child (Linux).

The child sees only:
- the system's programs and libraries: ``/usr`` (and ``/bin``, ``/lib``, ``/lib64``, ``/sbin``
  as the host has them, links or folders), read-only;
- the Python installation the worker needs (``python_dirs``): the standard library (with
  ``lib-dynload``), the interpreter's library folder and the site-packages folder(s) holding
  numpy, read-only, at their usual paths. The course checkout is *not* shown, even when the venv lives inside it, and an
  editable install's pointers (``__editable__`` finders, ``.pth`` files) lead nowhere;
- ``/dev/null``, ``/dev/zero``, ``/dev/full``, ``/dev/random``, ``/dev/urandom`` and
  ``/etc/ld.so.cache`` (so a library loaded late is still found);
- its scratch folder: a private tmpfs limited in size *and* in number of files (``nr_inodes``,
  so empty files cannot eat kernel memory), the only writable place.
Nothing else exists: no course checkout wherever it lives, no solutions, suites, outputs or
other submissions, no ``/home``, ``/root``, ``/tmp``, ``/work``, ``/etc``, ``/proc``, ``/sys``,
``/run``, ``/dev/shm``. Hidden paths (course, ``autograder`` package, outputs, submissions)
that happen to lie *inside* a shown folder (a course installed into site-packages, say) are
covered by an empty read-only tmpfs. The root itself is a small read-only tmpfs.

``build`` runs in the child's own mount namespace (with the right to mount there): it
mounts the new root, binds what is shown, then ``pivot_root``s into it and detaches the old
root, so there is no path back. Worker code needed later must be imported before (the zygote
does that).
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import sysconfig
from dataclasses import dataclass, field

from autograder import linux

DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
FILES = ("/etc/ld.so.cache",)
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_MOUNT_POINTS = ("/tmp", "/mnt", "/var/tmp", "/opt")  # where the new root is assembled
_READ_ONLY = linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV


@functools.lru_cache(maxsize=1)
def python_dirs() -> tuple[str, ...]:
    """Absolute folders of the running Python that the worker needs: the standard library
    (stdlib, platstdlib: lib-dynload is inside), the interpreter's library folder (LIBDIR:
    libpython and, for conda, the shared libraries its modules load) and the site-packages
    folders holding numpy.
    Paths as Python uses them (links not resolved), existing folders only. Computed once
    (the zygote calls it before forking)."""
    paths = sysconfig.get_paths()
    wanted = [paths["stdlib"], paths["platstdlib"], paths["purelib"], paths["platlib"],
              sysconfig.get_config_var("LIBDIR") or paths["stdlib"]]
    wanted += [p for p in sys.path if p.endswith("lib-dynload")]
    numpy = sys.modules.get("numpy")
    if numpy is not None and getattr(numpy, "__file__", None):
        wanted.append(os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__))))
    return tuple(sorted({os.path.abspath(p) for p in wanted if os.path.isdir(p)}))


def system_dirs() -> tuple[list[str], dict[str, str]]:
    """(folders shown read-only, {top-level link name: target}) for the system's libraries."""
    shown, links = ["/usr"], {}
    for name in TOP_LEVEL:
        path = "/" + name
        if os.path.islink(path):
            links[path] = os.readlink(path)
        elif os.path.isdir(path):
            shown.append(path)
    return shown, links


@dataclass
class Plan:
    """What the child will see. Paths are absolute; ``shown`` folders keep their host path.

    - shown: folders shown read-only (the system and the Python installation)
    - links: top-level symbolic links recreated as on the host ({"/lib": "usr/lib"})
    - hidden: never visible, even inside a shown folder
    - scratch: the writable folder (cwd), a tmpfs with ``scratch_options``
    """

    shown: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    hidden: list[str] = field(default_factory=list)
    scratch: str = "/tmp/autograder-submission"
    scratch_options: str = "size=16m,nr_inodes=1024,mode=0700"
    files: tuple[str, ...] = FILES
    devices: tuple[str, ...] = DEVICES
    _steps: tuple[list[str], list[str]] | None = field(default=None, repr=False, compare=False)

    def prepare(self) -> tuple[list[str], list[str]]:
        """(folders to bind, view paths to cover), computed once (paths are resolved)."""
        if self._steps is None:
            self._steps = overlays(outermost(self.shown), self.hidden)
        return self._steps


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def outermost(paths: list[str]) -> list[str]:
    """The paths not inside another one of them (a shown folder inside a shown one is
    already visible)."""
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(_inside(path, k) for k in kept):
            kept.append(path)
    return kept


def overlays(shown: list[str], hidden: list[str]) -> tuple[list[str], list[str]]:
    """(shown folders minus those that *are* a hidden folder, view paths to cover with an
    empty tmpfs: hidden folders inside a shown one, found through real paths)."""
    kept, covers = [], []
    real_hidden = {os.path.realpath(h) for h in hidden if os.path.isdir(h)}
    for folder in shown:
        real = os.path.realpath(folder)
        if real in real_hidden:
            continue
        kept.append(folder)
        for secret in real_hidden:
            if secret != real and _inside(secret, real):
                covers.append(folder.rstrip("/") + secret[len(real.rstrip("/")):])
    return kept, outermost(covers)


def _read_only(target: str) -> None:
    """The bind mount at ``target`` and everything below it: read-only, nosuid, nodev."""
    try:
        linux.mount_setattr_read_only(target)
        return
    except OSError as error:
        if error.errno not in (errno.ENOSYS, errno.EINVAL):
            raise
    # Older kernels: remount the top mount, keeping the flags a user namespace may not drop.
    flags = os.statvfs(target).f_flag
    extra = 0
    for st_bit, ms_bit in ((getattr(os, "ST_NOEXEC", 8), linux.MS_NOEXEC),
                           (getattr(os, "ST_NOATIME", 1024), linux.MS_NOATIME),
                           (getattr(os, "ST_NODIRATIME", 2048), linux.MS_NODIRATIME),
                           (getattr(os, "ST_RELATIME", 4096), linux.MS_RELATIME)):
        if flags & st_bit:
            extra |= ms_bit
    linux.mount(None, target, None, linux.MS_REMOUNT | linux.MS_BIND | _READ_ONLY | extra)


def _mount_point() -> str:
    for path in _MOUNT_POINTS:
        if os.path.isdir(path) and not os.path.islink(path):
            return path
    raise OSError(errno.ENOENT, "no folder to assemble the sandbox's root in")


def _bind(fd: int, target: str, read_only: bool) -> None:
    linux.mount(f"/proc/self/fd/{fd}", target, None, linux.MS_BIND | linux.MS_REC)
    if read_only:
        _read_only(target)


def _touch(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def build(plan: Plan) -> None:
    """Assemble the view and move into it (cwd: the scratch folder). Needs the right to
    mount in the current (private) mount namespace. Raises OSError if any step fails; the
    caller then treats the private view as lost (the process is still in the host's view)."""
    shown, covers = plan.prepare()
    sources: dict[str, int] = {}
    try:
        # Descriptors first: the new root is mounted over a host folder that may hold some.
        for path in [*shown, *plan.files, *plan.devices]:
            if os.path.exists(path):
                sources[path] = os.open(path, os.O_PATH | os.O_CLOEXEC)
        base = _mount_point()
        linux.mount("none", base, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV,
                    "size=1m,nr_inodes=4096,mode=0755")
        for link, target in plan.links.items():
            os.symlink(target, base + link)
        for path in shown:
            if path in sources:
                os.makedirs(base + path, mode=0o755, exist_ok=True)
                _bind(sources[path], base + path, read_only=True)
        for path in [*plan.files, *plan.devices]:
            if path in sources:
                _touch(base + path)
                _bind(sources[path], base + path, read_only=path in plan.files)
        for path in covers:
            linux.mount("none", base + path, "tmpfs", _READ_ONLY | linux.MS_NOEXEC,
                        "size=4k,nr_inodes=1,mode=0555")
        os.makedirs(base + plan.scratch, mode=0o755, exist_ok=True)
        linux.mount("none", base + plan.scratch, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV,
                    plan.scratch_options)
        linux.mount(None, base, None, linux.MS_REMOUNT | _READ_ONLY)
    finally:
        for fd in sources.values():
            os.close(fd)
    os.chdir(base)
    linux.pivot_root(".", ".")  # the old root now sits on top of the new one ...
    linux.umount(".", linux.MNT_DETACH)  # ... and is detached: no path leads back
    os.chdir("/")
    os.chdir(plan.scratch)
