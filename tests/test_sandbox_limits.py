"""Limits that hold *inside* the sandboxed child, and the child's allow-list view.

Each attack is a crafted submission that tries to walk around a limit; it runs as the rest of
the suite runs (as root in CI, which is the grader's full sandbox; ``test_sandbox_unprivileged``
repeats the attacks as a normal user). Every test checks the safe behaviour: the attacker's
own test fails, the attack got no more than the stated limit, an honest student graded right
after gets exactly the result it gets alone, and nothing is left on the host (no shared-memory
segment, no key, no file; the grader's memory barely moves). The attack sources are in
``helpers.sandbox_attacks``; they cap themselves, so a broken sandbox costs the machine a
bounded amount (at most ~768 MB, for a moment).

Limits stated here (``SandboxSettings``): 256 MB of memory above the worker's baseline,
16 MB of System V shared memory in the child's IPC namespace (``ipc_bytes``), a 16 MB scratch
tmpfs holding at most 1024 files and folders (``scratch_bytes``, ``scratch_inodes``), 1 MB of
printed output (``max_output_bytes``), a cgroup per child of memory + scratch + IPC + 128 MB
where the system offers one; the grading process grows by less than 64 MB per attack. No
time is asserted (the time limits are the sandbox's own, enforced from outside).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import resource
import secrets
import shutil
import time
from pathlib import Path

import pytest
from helpers.crafting import CORRECT_EXAMPLE, EXAMPLES, craft
from helpers.sandbox_attacks import (
    FALLOCATE_STDOUT,
    IPC_BYTES,
    MANY_FILES,
    OUTPUT_BYTES,
    PREDICT_HEADER,
    SCRATCH_INODES,
    SHARED_MEMORY,
    USER_NAMESPACE_TMPFS,
    VIEW_PROBE,
    ZEROS,
)

from autograder import cgroups, linux, namespaces, view
from autograder.capture import OutputCapture
from autograder.grading import COURSE_ROOT, Assignment, Grader
from autograder.sandbox import MAX_NAMES, Sandbox, SandboxSettings

PREDICT = "test_knn.py::test_predict_labels"
GRADER_GROWTH_BYTES = 64 << 20

PROTECTED = [COURSE_ROOT / "solutions" / "01_knn" / "01_knn.ipynb",
             COURSE_ROOT / "autograder" / "suites" / "01_knn" / "test_knn.py",
             *sorted(EXAMPLES.rglob("*.ipynb"))]
# System call numbers (add_key, keyctl) for the keyring attack.
KEY_CALLS = {"x86_64": (248, 250), "aarch64": (217, 219), "riscv64": (217, 219)}


def _hashes(paths) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def _host_segments() -> list[str]:
    with open("/proc/sysvipc/shm") as handle:
        return handle.read().splitlines()[1:]


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> SandboxSettings:
    out = tmp_path_factory.mktemp("out")
    return SandboxSettings.for_course(COURSE_ROOT, out, call_timeout=3.0, load_timeout=5.0,
                                      submission_timeout=30.0, memory_bytes=256 << 20,
                                      isolation="full")


@pytest.fixture(scope="module")
def grader(settings):
    g = Grader(Assignment.find("01_knn"), settings)
    before, segments = _hashes(PROTECTED), _host_segments()
    g.baseline = _tests_of(g.grade_bytes("honest", CORRECT_EXAMPLE.read_bytes(), "example"))
    yield g
    g.close()
    assert _hashes(PROTECTED) == before, "a protected file changed during grading"
    assert _host_segments() == segments, "a shared-memory segment was left on the host"
    assert not Path(g.sandbox.scratch).exists(), "the scratch folder appeared on the host"


def _tests_of(result: dict) -> list[tuple]:
    return [(t["name"], t["score"], t["output"]) for t in result["tests"]]


def _attack(grader, source: str, grade_id: str = "predict_labels",
            student: str = "mallory") -> dict:
    """Grade the attacking submission, then an honest one: the honest one must get exactly
    what it gets alone, and the grading process must not have grown."""
    rss = _max_rss_bytes()
    result = grader.grade_bytes(student, craft(CORRECT_EXAMPLE, replace={grade_id: source}),
                                "crafted")
    honest = grader.grade_bytes("honest", CORRECT_EXAMPLE.read_bytes(), "example")
    assert _tests_of(honest) == grader.baseline
    assert honest["score"] == honest["max_score"]
    assert _max_rss_bytes() - rss < GRADER_GROWTH_BYTES
    assert result["extra_data"]["sandbox_lost"] == []
    return result


def _reported(result: dict, tag: str) -> list[str]:
    """The values the attack printed after ``tag`` (what it managed to do)."""
    return re.findall(rf"^{tag} (.*)$", result["extra_data"]["printed"], re.MULTILINE)


def _own_test_failed(result: dict, name: str = PREDICT) -> None:
    test = {t["name"]: t for t in result["tests"]}[name]
    assert test["score"] < test["max_score"], test


def test_system_v_shared_memory_is_capped(grader):
    segments = _host_segments()
    result = _attack(grader, SHARED_MEMORY)
    reports = _reported(result, "SHARED-MEMORY")
    assert reports, result["extra_data"]["printed"]
    assert max(int(r.split()[0]) for r in reports) <= IPC_BYTES, reports
    _own_test_failed(result)
    assert _host_segments() == segments  # the segments died with the child's namespace


def test_no_user_namespace_of_its_own(grader):
    result = _attack(grader, USER_NAMESPACE_TMPFS)
    printed = result["extra_data"]["printed"]
    assert "USER-NAMESPACE refused" in printed, printed
    assert not _reported(result, "TMPFS-WRITTEN"), printed
    _own_test_failed(result)


def test_printed_output_cannot_be_extended(grader):
    result = _attack(grader, FALLOCATE_STDOUT)
    reports = _reported(result, "FALLOCATE")
    assert reports, result["extra_data"]["printed"]
    for report in reports:
        assert "allowed" not in report, report
        for allocated in re.findall(r"(\d+):", report):
            assert int(allocated) <= OUTPUT_BYTES, report
    _own_test_failed(result)


def test_scratch_holds_few_files(grader):
    result = _attack(grader, MANY_FILES)
    reports = _reported(result, "FILES")
    assert reports, result["extra_data"]["printed"]
    made = max(int(r.split()[0]) for r in reports)
    assert 0 < made < SCRATCH_INODES, reports
    _own_test_failed(result)


def _keyring_source(action: str, description: str) -> str:
    add_key, keyctl = KEY_CALLS[platform.machine()]
    return PREDICT_HEADER + f'''\
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    done = []
    for ring in (-4, -5, -3):  # user, user-session and session keyrings
        if {action!r} == "add":
            secret = b"the answers of the first student"
            r = libc.syscall({add_key}, b"user", {description.encode()!r}, secret,
                             len(secret), ring)
            done.append(f"{{ring}}:{{'added' if r >= 0 else os.strerror(ctypes.get_errno())}}")
        else:
            r = libc.syscall({keyctl}, 10, ring, b"user", {description.encode()!r}, 0)
            done.append(f"{{ring}}:{{'FOUND' if r >= 0 else 'absent'}}")
    print("KEYS", " ".join(done), flush=True)
''' + ZEROS


def _host_has_key(description: str) -> bool:
    add_key, keyctl = KEY_CALLS[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    found = any(libc.syscall(keyctl, 10, ring, b"user", description.encode(), 0) >= 0
                for ring in (-4, -5, -3))
    with open("/proc/keys") as handle:
        return found or description in handle.read()


@pytest.mark.skipif(platform.machine() not in KEY_CALLS, reason="keyring calls: x86_64/arm64")
def test_keyring_is_fresh_for_every_submission(grader):
    description = f"ag-sandbox-secret-{secrets.token_hex(4)}"
    first = _attack(grader, _keyring_source("add", description), student="first")
    assert "added" in " ".join(_reported(first, "KEYS")), first["extra_data"]["printed"]
    second = _attack(grader, _keyring_source("search", description), student="second")
    reports = _reported(second, "KEYS")
    assert reports and "FOUND" not in " ".join(reports), reports
    assert not _host_has_key(description)


@pytest.fixture()
def other_checkout():
    """A second copy of the course (solutions and suite) outside every folder the old
    deny-list covered; needs root (/opt)."""
    if not os.access("/opt", os.W_OK):
        pytest.skip("needs a writable /opt (root)")
    folder = Path("/opt") / f"ag-sandbox-test-{secrets.token_hex(4)}" / "course"
    for relative in ("solutions/01_knn/01_knn.ipynb", "autograder/suites/01_knn/test_knn.py"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(COURSE_ROOT / relative, folder / relative)
    yield folder
    shutil.rmtree(folder.parent)


def test_the_child_sees_an_allow_list(grader, settings, other_checkout):
    secrets_ = [str(other_checkout / "solutions" / "01_knn" / "01_knn.ipynb"),
                str(other_checkout / "autograder" / "suites"), str(COURSE_ROOT),
                str(COURSE_ROOT / "solutions" / "01_knn" / "01_knn.ipynb"), str(EXAMPLES),
                *settings.hide, "/home", "/root/.bashrc", "/etc/passwd", "/etc/hostname",
                "/proc/self/environ", "/proc/1/cmdline", "/sys/fs/cgroup", "/run", "/var",
                "/dev/shm", "/work", "/mnt", "/srv", "/opt"]
    shown = [*view.python_dirs(), "/usr/lib", "/dev/null", "/dev/urandom"]
    source = f"SECRETS = {secrets_!r}\nSHOWN = {shown!r}\n\n" + VIEW_PROBE
    result = _attack(grader, source)
    assert set(_reported(result, "LEAKS")) == {"[]"}, result["extra_data"]["printed"]
    assert set(_reported(result, "SHOWN")) == {f"{len(shown)} of {len(shown)}"}


def test_only_the_first_names_are_kept(settings):
    sandbox = Sandbox(settings, slot=7)
    cell = ("for _i in range(80_000):\n    globals()[f'name_{_i}'] = _i\n\n"
            "def late():\n    return 1\n")
    try:
        session = sandbox.open([cell])
        try:
            assert len(session.names) == MAX_NAMES
            assert "late" not in session.names and "name_0" in session.names
        finally:
            session.close()
    finally:
        sandbox.close()


def test_hidden_folders_inside_shown_ones_are_covered(tmp_path):
    site = tmp_path / "site-packages"
    (site / "autograder" / "suites").mkdir(parents=True)
    (site / "numpy").mkdir()
    kept, covers = view.overlays([str(site)], [str(site / "autograder"), str(tmp_path)])
    assert kept == [str(site)] and covers == [str(site / "autograder")]
    kept, covers = view.overlays([str(site)], [str(site)])
    assert kept == [] and covers == []


def test_a_hidden_folder_inside_a_shown_one_is_empty(settings):
    """A course installed into site-packages stays out of sight: here a package folder of the
    venv stands for it."""
    import IPython
    package = str(Path(IPython.__file__).parent)
    hidden = SandboxSettings(**{**settings.__dict__, "hide": [*settings.hide, package]})
    sandbox = Sandbox(hidden, slot=5)
    probe = (f"import os\nPACKAGE = {package!r}\n"
             "def look():\n    return os.path.isdir(PACKAGE), os.listdir(PACKAGE)\n")
    try:
        session = sandbox.open([probe])
        try:
            reply = session.request({"op": "call", "name": "look", "args": {"$t": []},
                                     "kwargs": {"$d": []}, "handle": None, "attr": None})
        finally:
            session.close()
    finally:
        sandbox.close()
    assert reply["ok"] and reply["value"] == {"$t": [True, []]}, reply
    assert os.listdir(package)  # the real folder is not empty


def test_printed_output_lives_in_memory():
    capture = OutputCapture()
    try:
        os.write(capture.fileno(), b"hello")
        assert capture.read(100) == b"hello"
        assert os.readlink(f"/proc/self/fd/{capture.fileno()}").startswith("/memfd:")
    finally:
        capture.close()


def _cgroups_or_skip(memory_bytes: int) -> cgroups.ChildCgroups:
    groups = cgroups.ChildCgroups(f"autograder-{os.getpid()}-99", memory_bytes, 2)
    if not groups.available:
        pytest.skip(groups.reason)
    return groups


def _in_child(work) -> tuple[bytes, int]:
    """Fork; the child runs ``work(write_fd)`` and exits. Returns (all the child wrote to
    the pipe, its wait status)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            work(write)
        finally:
            os._exit(0)
    os.close(write)
    output = b""
    while block := os.read(read, 65536):
        output += block
    os.close(read)
    return output, os.waitpid(pid, 0)[1]


def test_a_childs_cgroup_counts_shared_memory():
    """With IPC limits far above it, the child's cgroup still stops a shared-memory bomb:
    the child is killed, the host keeps its memory, the folders go away."""
    groups = _cgroups_or_skip(64 << 20)
    folders = groups.new_child()

    def allocate(write: int) -> None:  # the child: joins, then allocates shared memory
        cgroups.join(folders)
        linux.unshare(linux.CLONE_NEWIPC)
        namespaces.limit_ipc(1 << 30)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
        libc.shmdt.argtypes = [ctypes.c_void_p]
        for _ in range(16):  # 16 x 16 MB = 256 MB, four times the limit
            address = libc.shmat(libc.shmget(0, 16 << 20, 0o1600), None, 0)
            ctypes.memset(address, 1, 16 << 20)
            libc.shmdt(address)
            os.write(write, b"+")

    chunks, status = _in_child(allocate)
    try:
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
        assert len(chunks) * (16 << 20) <= 64 << 20
    finally:
        groups.release(folders)
        groups.close()
    assert not any(os.path.exists(f) for f in folders)


def test_cgroup_v2_layout(tmp_path):
    """On a cgroup v2 hierarchy (here a fake one, plain files): the slot folder goes under
    the process's own cgroup with both controllers enabled for its children, and each child
    folder gets memory.max and pids.max; without the controllers nothing is created."""
    top, own = tmp_path / "cgroup2", tmp_path / "cgroup2" / "grader.scope"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text("cpu memory pids\n")
    (own / "cgroup.subtree_control").write_text("\n")
    mounts = [(str(top), "/", "cgroup2", "rw")]
    groups = cgroups.ChildCgroups("autograder-1-0", 123 << 20, 2, own={"": "/grader.scope"},
                                  mounts=mounts)
    assert groups.version == 2 and groups.reason == ""
    slot = own / "autograder-1-0"
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (slot / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert groups.new_child() == [str(slot / "child-1")]
    assert (slot / "child-1" / "memory.max").read_text() == str(123 << 20)
    assert (slot / "child-1" / "pids.max").read_text() == "2"

    (own / "cgroup.controllers").write_text("cpu\n")
    refused = cgroups.ChildCgroups("autograder-1-1", 1 << 20, 2, own={"": "/grader.scope"},
                                   mounts=mounts)
    assert not refused.available and "not offered" in refused.reason
    assert refused.new_child() == [] and not (own / "autograder-1-1").exists()


def test_each_child_gets_a_fresh_cgroup(settings):
    if os.geteuid() != 0:
        pytest.skip("cgroups of the grading process are only writable by root here")
    sandbox = Sandbox(settings, slot=6)
    folders = []
    try:
        for _ in range(2):
            session = sandbox.open(["x = 1\n"])
            pid = session._pid
            with open(f"/proc/{pid}/cgroup") as handle:
                paths = handle.read()
            if sandbox._cgroups is None or not sandbox._cgroups.available:
                session.close()
                pytest.skip("no cgroup offered by this system")
            folders.append(session._cgroups)
            assert all("/".join(f.split("/")[-2:]) in paths for f in session._cgroups)
            session.close()
        assert folders[0] != folders[1]
    finally:
        sandbox.close()
    deadline = time.monotonic() + 5
    while any(os.path.exists(f) for f in sum(folders, [])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(os.path.exists(f) for f in sum(folders, []))


def test_child_keeps_no_capability():
    """The capability sets are empty after ``drop_capabilities`` (checked in a child)."""

    def report(write: int) -> None:
        if os.geteuid() == 0:
            os.setresuid(65534, 65534, 65534)
        try:
            linux.unshare(linux.CLONE_NEWUSER)  # full capabilities inside ...
        except OSError:
            os.write(write, b"REFUSED")
            return
        linux.drop_capabilities()  # ... and none after
        with open("/proc/self/status") as handle:
            os.write(write, handle.read().encode())

    status, _ = _in_child(report)
    text = status.decode()
    if text == "REFUSED":
        pytest.skip("this kernel refuses user namespaces")
    fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
    for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[name], 16) == 0, (name, fields[name])
