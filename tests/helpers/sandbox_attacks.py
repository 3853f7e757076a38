"""Crafted graded-cell sources that attack the sandbox's limits (tests of the sandbox only).

Each replaces the ``predict_labels`` cell of the 01_knn example (``helpers.crafting.craft``)
and prints what it managed to do on a line starting with a tag (``SHARED-MEMORY 16777216 ...``)
that the tests read back from ``extra_data["printed"]``. The attacks cap themselves, so a
broken sandbox costs the machine a bounded amount (at most ~768 MB, for a moment). Most run
once per child (``ONCE``) and then return zeros, so the attacker's own test fails.

Limits they are checked against (the defaults of ``SandboxSettings``): IPC_BYTES of System V
shared memory, SCRATCH_INODES files and folders in the scratch tmpfs, OUTPUT_BYTES of output.
"""

from __future__ import annotations

IPC_BYTES, SCRATCH_INODES, OUTPUT_BYTES = 16 << 20, 1024, 1 << 20
PREDICT_HEADER = "def predict_labels(dists, y_train, k=1):\n"
ZEROS = "    return np.zeros(dists.shape[0], dtype=np.int64)\n"
ONCE = "    if _done:\n    " + ZEROS + "    _done.append(1)\n"  # the attack runs once per child


SHARED_MEMORY = "_done = []\n\n" + PREDICT_HEADER + ONCE + '''\
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype, libc.shmat.argtypes = ctypes.c_void_p, [ctypes.c_int, ctypes.c_void_p,
                                                                ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    total, chunk, why = 0, 4 << 20, "stopped at the attack's own cap"
    while total < (768 << 20):  # create, attach, touch, detach: RLIMIT_AS never sees it
        segment = libc.shmget(0, chunk, 0o1600)
        if segment < 0:
            why = os.strerror(ctypes.get_errno())
            break
        address = libc.shmat(segment, None, 0)
        if address in (None, 2 ** 64 - 1):
            why = "shmat: " + os.strerror(ctypes.get_errno())
            break
        ctypes.memset(address, 1, chunk)
        libc.shmdt(address)
        total += chunk
    print("SHARED-MEMORY", total, why, flush=True)
''' + ZEROS


USER_NAMESPACE_TMPFS = "_done = []\n\n" + PREDICT_HEADER + ONCE + '''\
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: so that /proc/self/uid_map is ours to write
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        print("USER-NAMESPACE refused:", os.strerror(ctypes.get_errno()), flush=True)
''' + "    " + ZEROS + '''\
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                       ("gid_map", f"0 {gid} 1")):
        try:
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
        except OSError:
            pass
    here = os.getcwd()
    if libc.mount(b"none", here.encode(), b"tmpfs", 0, None) != 0:
        print("USER-NAMESPACE mount refused:", os.strerror(ctypes.get_errno()), flush=True)
''' + "    " + ZEROS + '''\
    os.chdir(here)  # into the new tmpfs, which counts against no limit
    written = 0
    try:
        while written < (512 << 20):
            with open(f"block-{written >> 20}", "wb") as handle:
                handle.write(b"x" * (1 << 20))
            written += 1 << 20
    except OSError:
        pass
    print("TMPFS-WRITTEN", written, flush=True)
''' + ZEROS


FALLOCATE_STDOUT = "_done = []\n\n" + PREDICT_HEADER + ONCE + '''\
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
    outcome = []
    for fd in (1, 2):  # FALLOC_FL_KEEP_SIZE: blocks beyond the end, size unchanged
        failed = libc.fallocate(fd, 1, 0, 1 << 30) != 0
        why = os.strerror(ctypes.get_errno()) if failed else "allowed"
        outcome.append(f"{os.fstat(fd).st_blocks * 512}:{why}")
        try:
            os.ftruncate(fd, 1 << 40)
            outcome.append("truncate allowed")
        except OSError as error:
            outcome.append(f"truncate refused: {error.strerror}")
    print("FALLOCATE", " ".join(outcome), flush=True)
''' + ZEROS


MANY_FILES = "_done = []\n\n" + PREDICT_HEADER + ONCE + '''\
    import os
    made, why = 0, "stopped at the attack's own cap"
    try:
        while made < 30000:  # empty files: no bytes, but an inode each (kernel memory)
            os.close(os.open(f"empty-{made}", os.O_CREAT | os.O_WRONLY, 0o600))
            made += 1
    except OSError as error:
        why = error.strerror
    print("FILES", made, why, flush=True)
''' + ZEROS


VIEW_PROBE = '''\
def _on_the_way(path):  # a folder the view creates to reach a shown one, or the scratch
    import os
    return any(shown == path or shown.startswith(path.rstrip("/") + "/")
               for shown in [*SHOWN, os.getcwd()])


def predict_labels(dists, y_train, k=1):
    import os, sys
    leaks, shown = [], []
    for path in SECRETS:
        try:
            if os.path.isdir(path):
                extra = [e for e in os.listdir(path) if not _on_the_way(os.path.join(path, e))]
                if extra:
                    leaks.append(f"listed {path}: {extra[:3]}")
            else:
                with open(path, "rb") as handle:
                    handle.read(1)
                leaks.append("read " + path)
        except OSError:
            pass
    finder = [m for m in sys.modules if m.startswith("__editable__")]
    for name in finder:  # where the venv's editable install points: must lead nowhere
        for target in getattr(sys.modules[name], "MAPPING", {}).values():
            if os.path.exists(target):
                leaks.append("editable target " + target)
    for path in SHOWN:
        if os.path.exists(path):
            shown.append(path)
    import decimal, fractions  # not imported before: the standard library is readable
    print("LEAKS", leaks, flush=True)
    print("SHOWN", len(shown), "of", len(SHOWN), flush=True)
    return np.zeros(dists.shape[0], dtype=np.int64)
'''
