"""A memory and task limit for each sandboxed child that counts everything it uses (cgroups).

RLIMIT_AS counts only the child's address space. Shared memory, files in a tmpfs and the
kernel objects the child makes (inodes, pipes, socket buffers, page tables) are charged to its
*memory cgroup* instead, so a cgroup limit is the one memory bound nothing walks around; its
``pids.max`` bounds tasks (processes and threads) the same way. An out-of-memory kill in the
child's cgroup hits only the child.

Every child gets a *fresh* cgroup (``ChildCgroups.new_child``), not one per slot: the kernel
frees a killed child's IPC namespace and tmpfs asynchronously, and a fresh cgroup keeps those
pages from counting against the next student. The folders live in a folder per slot under
the grading process's own cgroup (so any limit already placed on the grader still holds), or,
where that is not writable (root in a cgroup nobody delegated), under the hierarchy's top:
cgroup v1 ``memory`` and ``pids`` hierarchies, or cgroup v2 when both controllers can be
enabled for children there (the kernel refuses that for a cgroup that holds processes itself,
so a delegated cgroup, e.g. a systemd scope with ``Delegate=yes``, must hold the grader in a
sub-folder). The grading process creates and removes the folders; the child joins them
(``join``) before dropping its privileges.

Unavailable (a normal user without delegation, no controllers): ``available`` is False and
``reason`` says why. The child's memory is then bounded by RLIMIT_AS, the small System V
limits of its IPC namespace (``namespaces.limit_ipc``) and the size of its scratch tmpfs.
"""

from __future__ import annotations

import os
import time

V1_FILES = {"memory": ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"),
            "pids": ("pids.max",)}


def _own_paths() -> dict[str, str]:
    """{controller or "" for cgroup v2: path of this process's cgroup}."""
    paths: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    paths[name] = path
    except (OSError, ValueError):
        pass
    return paths


def _mounts() -> list[tuple[str, str, str, str]]:
    """(mount point, root inside the hierarchy, file-system type, super options) per mount."""
    found = []
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                fields, tail = left.split(), right.split()
                if len(fields) >= 5 and len(tail) >= 3:
                    found.append((fields[4], fields[3], tail[0], tail[2]))
    except OSError:
        pass
    return found


def _folder(mount_point: str, root: str, path: str) -> str | None:
    """The folder of cgroup ``path`` in a hierarchy mounted at ``mount_point`` (whose own
    root is ``root``); None when the path is outside what the mount shows."""
    if not (root == "/" or path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    return mount_point.rstrip("/") + path[len(root.rstrip("/")):]


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _remove_tree(folder: str) -> bool:
    """rmdir the folder's sub-folders, then the folder (cgroup folders hold no files)."""
    try:
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                _remove_tree(entry.path)
        os.rmdir(folder)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _remove_stale(parent: str) -> None:
    """Slot folders of grading processes that no longer exist (killed with SIGKILL)."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        parts = entry.name.split("-")
        if len(parts) == 3 and parts[0] == "autograder" and parts[1].isdigit():
            try:
                os.kill(int(parts[1]), 0)
            except ProcessLookupError:
                _remove_tree(entry.path)
            except OSError:
                pass


def _new_slot(parent: str, name: str) -> str:
    _remove_stale(parent)
    slot = os.path.join(parent, name)
    os.makedirs(slot, exist_ok=True)
    return slot


def _enable_v2(parent: str) -> None:
    """Memory and pids controllers for the children of a cgroup v2 folder (refused with
    EBUSY where the folder itself holds processes, as the kernel wants)."""
    with open(os.path.join(parent, "cgroup.controllers")) as handle:
        if not {"memory", "pids"} <= set(handle.read().split()):
            raise OSError(0, "the memory and pids controllers are not offered here")
    with open(os.path.join(parent, "cgroup.subtree_control")) as handle:
        if {"memory", "pids"} <= set(handle.read().split()):
            return
    _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")


class ChildCgroups:
    """The cgroup folders of one grading slot: one fresh set per child.

    Inputs: ``name`` of the slot folder (unique per grading process and slot),
    ``memory_bytes`` (the limit, bytes, shared memory and kernel memory included) and
    ``max_tasks`` (processes and threads, the waiting parent included).
    """

    def __init__(self, name: str, memory_bytes: int, max_tasks: int,
                 own: dict[str, str] | None = None,
                 mounts: list[tuple[str, str, str, str]] | None = None):
        self.memory_bytes, self.max_tasks = memory_bytes, max_tasks
        self.slots: list[tuple[str, str]] = []  # (controller or "v2", folder) per hierarchy
        self.version = 0
        self.reason = ""
        self._count = 0
        self._pending: list[str] = []
        try:
            self._create_slots(name, _own_paths() if own is None else own,
                               _mounts() if mounts is None else mounts)
        except OSError as error:
            self.reason = f"cgroups unavailable: {error.strerror or error}"
            for _, slot in self.slots:
                _remove_tree(slot)
            self.slots = []

    @property
    def available(self) -> bool:
        return bool(self.slots)

    @staticmethod
    def _parents(point: str, root: str, path: str) -> list[str]:
        """Where a slot folder may go: under this process's own cgroup, else (root only, for
        a cgroup nobody delegated) under the hierarchy's top."""
        own = _folder(point, root, path)
        return [p for p in dict.fromkeys([own, point]) if p and os.path.isdir(p)
                and os.access(p, os.W_OK)]

    def _create_slots(self, name: str, own: dict[str, str],
                      mounts: list[tuple[str, str, str, str]]) -> None:
        v1 = {}
        for controller in ("memory", "pids"):
            for point, root, fstype, options in mounts:
                if fstype == "cgroup" and controller in options.split(",") and controller in own:
                    parents = self._parents(point, root, own[controller])
                    if parents:
                        v1[controller] = parents[0]
        if len(v1) == 2:
            for controller, parent in v1.items():
                self.slots.append((controller, _new_slot(parent, name)))
            self.version = 1
            return
        why = ""
        for point, root, fstype, _ in mounts:
            if fstype != "cgroup2" or "" not in own:
                continue
            for parent in self._parents(point, root, own[""]):
                try:
                    _enable_v2(parent)
                except OSError as error:
                    why = why or error.strerror or str(error)  # the own cgroup's reason first
                    continue
                slot = _new_slot(parent, name)
                self.slots.append(("v2", slot))
                _write(os.path.join(slot, "cgroup.subtree_control"), "+memory +pids")
                self.version = 2
                return
        raise OSError(0, why or "no memory and pids controllers")

    def _limit(self, folder: str, controller: str) -> None:
        if self.version == 2:
            _write(os.path.join(folder, "memory.max"), str(self.memory_bytes))
            for optional, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                if os.path.exists(os.path.join(folder, optional)):
                    _write(os.path.join(folder, optional), value)
            _write(os.path.join(folder, "pids.max"), str(self.max_tasks))
            return
        for file_name in V1_FILES[controller]:
            path = os.path.join(folder, file_name)
            if file_name == "pids.max":
                _write(path, str(self.max_tasks))
            elif os.path.exists(path):
                _write(path, str(self.memory_bytes))

    def new_child(self) -> list[str]:
        """Fresh folders (one per hierarchy) with the limits set; the child joins them with
        ``join``. Empty list when unavailable. Raises OSError if the kernel refuses."""
        self.collect()
        if not self.available:
            return []
        self._count += 1
        folders = []
        try:
            for controller, slot in self.slots:
                folder = os.path.join(slot, f"child-{self._count}")
                os.mkdir(folder)
                folders.append(folder)
                self._limit(folder, controller)
        except OSError:
            self.release(folders)
            raise
        return folders

    def release(self, folders: list[str]) -> None:
        """Remove a dead child's folders (later, if its processes are still exiting)."""
        self._pending += folders
        self.collect()

    def collect(self, wait: float = 0.0) -> None:
        """Remove every released folder whose processes are gone (waiting up to ``wait`` s)."""
        deadline = time.monotonic() + wait
        while True:
            self._pending = [f for f in self._pending if not _remove_tree(f)]
            if not self._pending or time.monotonic() >= deadline:
                return
            time.sleep(0.01)

    def close(self) -> None:
        self.collect(wait=2.0)
        for _, slot in self.slots:
            _remove_tree(slot)
        self.slots = []


def join(folders: list[str]) -> None:
    """Move the calling process into each cgroup folder (in the child, while still root)."""
    for folder in folders:
        _write(os.path.join(folder, "cgroup.procs"), str(os.getpid()))
