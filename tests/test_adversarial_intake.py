"""Adversarial intake corpus: hostile files, names and notebooks in one class folder.

Every attack is one ``Attack`` in ``ATTACKS`` (add new ones there): ``plant(root)`` writes its
files into the class folder (nbgrader's ``submitted/<id>/<assignment>/`` layout and flat
``<id>.ipynb`` / ``<id>.zip`` files side by side), ``ids`` are the student ids its rows must
get, ``score`` is "zero", "full" (what an honest correct notebook scores in the same run) or
"any", and ``words`` a phrase its messages must contain.

One grading run with every attack plus three honest students, and one run with only the
honest students, are shared by the tests (``--jobs 1``). The tests check:
- each attack: its rows exist with the expected score and words (grades.csv, results.json,
  feedback.html), the grader's own time accounting stayed within the stated budget, and its
  results are bounded and free of lone surrogates;
- the run exits 0; the honest students' rows and results are exactly those of the run
  without attackers; nothing outside the output folder changed (submissions tree,
  ``solutions/``, ``autograder/suites/``); the grading processes' peak memory stayed under
  1 GB; a rerun finishes and regrades nothing; reports are safe to open.
Fast unit tests of the same defences (discovery, defensive reading, the limited reader,
extraction caps, the one-row-per-submission rule) follow.
"""

from __future__ import annotations

import csv
import html
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT
from helpers.crafting import CORRECT_EXAMPLE, PARTLY_WRONG_EXAMPLE, craft
from helpers.hostile import (
    code_cell,
    corrupt_deflate_zip,
    encrypted_zip,
    grade_job_dying_for_ben,
    tree_digest,
    with_extra_cells,
    with_outputs,
    without_metadata,
    zip_of,
    zip_with_member_name,
    zip_with_method,
)

ASSIGNMENT = "01_knn"
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
RUN_TIMEOUT = 900           # seconds for a whole CLI run: only a hang can reach it
MEMORY_BOUND_KB = 1 << 20   # 1 GB peak RSS for any grading process
MAX_RESULTS_BYTES = 1 << 20
MAX_FEEDBACK_BYTES = 2 << 20
HONEST = ("ann", "ben", "cy")
TWO_LOOPS = "compute_distances_two_loops"


# ------------------------------------------------------------------------------ planting


def _write(root: Path, name: str | bytes, data: bytes) -> None:
    path = os.path.join(os.fsencode(root), os.fsencode(name))
    with open(path, "wb") as handle:
        handle.write(data)


def _nbgrader(root: Path, student: str, name: str, data: bytes) -> None:
    folder = root / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)


def plant_honest(root: Path) -> None:
    _write(root, "ann.ipynb", CORRECT_EXAMPLE.read_bytes())
    _nbgrader(root, "ben", f"{ASSIGNMENT}.ipynb", PARTLY_WRONG_EXAMPLE.read_bytes())
    _write(root, "cy.zip", zip_of({f"cy/{ASSIGNMENT}.ipynb": CORRECT_EXAMPLE.read_bytes()}))


def file(name: str | bytes, make: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda root: _write(root, name, make())


def files(*plants: Callable[[Path], None]) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        for one in plants:
            one(root)
    return plant


def nbgrader(student: str, make: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda root: _nbgrader(root, student, f"{ASSIGNMENT}.ipynb", make())


def link(name: str, target: Path | str) -> Callable[[Path], None]:
    return lambda root: os.symlink(target, root / name)


def correct() -> bytes:
    return CORRECT_EXAMPLE.read_bytes()


def notebook_zip(data: bytes) -> bytes:
    return zip_of({f"work/{ASSIGNMENT}.ipynb": data})


def replaced(body: str) -> Callable[[], bytes]:
    return lambda: craft(CORRECT_EXAMPLE, replace={TWO_LOOPS: body})


def parser_memory_error() -> bytes:
    """Cells without metadata (matched by name) and a cell whose expression makes the
    Python parser raise MemoryError."""
    bomb = f"def {TWO_LOOPS}(X_test, X_train):\n    return " + "-" * 60_000 + "1\n"
    return with_extra_cells(without_metadata(CORRECT_EXAMPLE), [code_cell(bomb)])


def many_cells() -> bytes:
    """100 000 code cells after graded cells that lost their metadata (matched by name)."""
    return with_extra_cells(without_metadata(CORRECT_EXAMPLE),
                            [code_cell("x = 1\n") for _ in range(100_000)])


def json_bomb() -> bytes:
    """A 45 MB notebook whose metadata holds 15 million empty lists (> 1 GB parsed)."""
    nb = json.loads(CORRECT_EXAMPLE.read_bytes())
    head = json.dumps(nb)[:-1].encode()
    return head + b', "bomb": [' + b"[]," * 15_000_000 + b"[]]}"


def huge_list_literal() -> bytes:
    return replaced(f"def {TWO_LOOPS}(X_test, X_train):\n    table = ["
                    + "0," * 1_500_000 + "]\n    return None\n")()


def loud() -> bytes:
    """Megabytes of printed text, a 5 MB class name in a reply, a 5 MB exception type name."""
    two = (f"def {TWO_LOOPS}(X_test, X_train):\n    print('x' * 10_000_000)\n"
           "    return type('A' * 5_000_000, (), {})()\n")
    one = ("def compute_distances_one_loop(X_test, X_train):\n"
           "    raise type('E' * 5_000_000, (Exception,), {})('boom ' * 100_000)\n")
    return craft(CORRECT_EXAMPLE, replace={TWO_LOOPS: two, "compute_distances_one_loop": one})


def mknod_zero(root: Path) -> None:
    os.mknod(root / "dev.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # like /dev/zero


@dataclass(frozen=True)
class Attack:
    name: str
    plant: Callable[[Path], None]
    ids: tuple[str, ...]
    score: str = "zero"             # "zero" | "full" | "any"
    words: tuple[str, ...] = ()     # one of these must appear in every row's messages
    originals: tuple[str, ...] = ()  # extra_data.original_name of each id (when given)
    needs_root: bool = False


ATTACKS = [
    Attack("correct_notebook_with_6_mb_of_figures", file("figs.ipynb", lambda: with_outputs(
        CORRECT_EXAMPLE, 6)), ("figs",), "full"),
    Attack("correct_notebook_with_a_1_mb_png_in_nbgrader_tree",
           nbgrader("pix", lambda: with_outputs(CORRECT_EXAMPLE, 1.2)), ("pix",), "full"),
    Attack("lone_surrogate_escape_and_bidi_in_an_exception", file("sur.ipynb", replaced(
        f"def {TWO_LOOPS}(X_test, X_train):\n"
        "    raise ValueError(chr(0xD800) + '\\x1b[2J\\x1b]0;pwned\\x07' + chr(0x202E))\n")),
        ("sur",), "any", ("ValueError",)),
    Attack("correct_notebook_with_6_mb_of_figures_in_a_zip", file("figzip.zip", lambda: (
        notebook_zip(with_outputs(CORRECT_EXAMPLE, 6)))), ("figzip",), "full"),
    Attack("python_parser_memory_error", file("deep.ipynb", parser_memory_error), ("deep",),
           "any"),
    Attack("python_parser_memory_error_in_a_graded_cell", file("deeper.ipynb", replaced(
        f"def {TWO_LOOPS}(X_test, X_train):\n    return " + "-" * 60_000 + "1\n")),
        ("deeper",), "any"),
    Attack("student_folders_named_like_the_run_files", files(
        nbgrader("grades.csv", correct), nbgrader("summary.html", correct),
        nbgrader("run.json", correct), nbgrader("students", correct)),
        ("grades.csv", "summary.html", "run.json", "students"), "full"),
    Attack("two_names_one_id", files(file("dee ee.ipynb", correct), file("dee_ee.ipynb", correct)),
           ("dee_ee", "dee_ee~2"), "full", (), ("dee ee.ipynb", "dee_ee.ipynb")),
    Attack("name_not_valid_utf8", file(b"\xff\xfename.ipynb", correct), ("__name",), "full",
           (), ("\\xff\\xfename.ipynb",)),
    Attack("same_id_as_notebook_and_zip", files(
        file("eve.ipynb", correct), file("eve.zip", lambda: notebook_zip(correct()))),
        ("eve", "eve~2"), "full", (), ("eve.ipynb", "eve.zip")),
    Attack("encrypted_zip", file("enc.zip", lambda: encrypted_zip(notebook_zip(correct()))),
           ("enc",), "zero", ("encrypted",)),
    Attack("zip_with_unsupported_compression", file("aes.zip", lambda: zip_with_method(
        notebook_zip(correct()), 99)), ("aes",), "zero", ("compression method 99",)),
    Attack("zip_with_corrupt_deflate_stream", file("bad.zip", lambda: corrupt_deflate_zip(
        notebook_zip(correct()))), ("bad",), "zero", ("zip file could not be read",)),
    Attack("zip_member_name_not_utf8", file("mem.zip", lambda: zip_with_member_name(
        zip_of({"w/01_knn.ipynb": correct()}), b"w/\xff\xfe_knn.ipynb")), ("mem",), "zero",
        ("zip file could not be read",)),
    Attack("zip_bomb_by_ratio", file("ratio.zip", lambda: zip_of(
        {f"{ASSIGNMENT}.ipynb": bytes(40 << 20)})), ("ratio",), "zero",
        ("compressed more than",)),
    Attack("zip_member_over_the_size_limit", file("huge.zip", lambda: zip_of(
        {f"{ASSIGNMENT}.ipynb": bytes(60 << 20)})), ("huge",), "zero", ("larger than",)),
    Attack("zip_with_thousands_of_members", file("many.zip", lambda: zip_of(
        {f"f{i}.txt": b"" for i in range(2000)} | {f"{ASSIGNMENT}.ipynb": correct()})),
        ("many",), "zero", ("more than the 1000",)),
    Attack("fifo_named_like_a_notebook", lambda root: os.mkfifo(root / "fifo.ipynb"),
           ("fifo",), "zero", ("FIFO",)),
    Attack("fifo_in_nbgrader_tree", lambda root: (root / "pip" / ASSIGNMENT).mkdir(
        parents=True) or os.mkfifo(root / "pip" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        ("pip",), "zero", ("FIFO",)),
    Attack("symlink_to_dev_zero", link("zero.ipynb", "/dev/zero"), ("zero",), "zero",
           ("symbolic link",)),
    Attack("symlink_to_dev_zero_in_nbgrader_tree", lambda root: (
        root / "zed" / ASSIGNMENT).mkdir(parents=True) or os.symlink(
        "/dev/zero", root / "zed" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), ("zed",), "zero",
        ("symbolic link",)),
    Attack("device_node_like_dev_zero", mknod_zero, ("dev",), "zero", ("device",),
           needs_root=True),
    Attack("symlink_into_solutions", link(
        "sneaky.ipynb", ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), ("sneaky",),
        "zero", ("symbolic link",)),
    Attack("student_folder_is_a_link_to_solutions", link("linkdir", ROOT / "solutions"),
           ("linkdir",), "zero", ("symbolic link",)),
    Attack("assignment_folder_is_a_link", lambda root: (root / "lnk").mkdir() or os.symlink(
        ROOT / "solutions" / ASSIGNMENT, root / "lnk" / ASSIGNMENT), ("lnk",), "zero",
        ("symbolic link",)),
    Attack("assignment_folder_without_a_notebook", lambda root: (
        root / "fay" / ASSIGNMENT).mkdir(parents=True), ("fay",), "zero", ("no notebook",)),
    Attack("three_megabyte_list_literal_in_a_graded_cell", file("lit.ipynb",
                                                                 huge_list_literal),
           ("lit",), "any", ("was not graded",)),
    Attack("notebook_over_the_size_limit", file("big.ipynb", lambda: with_outputs(
        CORRECT_EXAMPLE, 60)), ("big",), "zero", ("larger than the 50.0 MB limit",)),
    Attack("json_bomb_under_the_size_limit", file("jb.ipynb", json_bomb), ("jb",), "zero",
           ("memory", "longer than")),
    Attack("hundred_thousand_cells", file("cells.ipynb", many_cells), ("cells",), "full",
           ("only the first 10000",)),
    Attack("spreadsheet_formula_names", files(
        file('=HYPERLINK("http:evil","x").ipynb', correct), file("+1-2.ipynb", correct),
        file("@cmd.ipynb", correct), file("-rf.ipynb", correct)),
        ("_HYPERLINK__http_evil___x__", "_+1-2", "_@cmd", "_-rf"), "full"),
    Attack("terminal_escapes_and_bidi_in_names", files(
        file("\x1b[2J\x1b[31mred.ipynb", correct), file("\u202eexe.ipynb", correct)),
        ("__2J__31mred", "_exe"), "full", (), ("<U+001B>[2J<U+001B>[31mred.ipynb",
                                                 "<U+202E>exe.ipynb")),
    Attack("megabytes_of_messages_and_printed_text", file("loud.ipynb", loud), ("loud",),
           "any"),
]
ATTACKS = [a for a in ATTACKS if not a.needs_root or os.geteuid() == 0]


# ------------------------------------------------------------------------------ the runs

_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
sys.stderr.buffer.write(done.stderr)
print(json.dumps({"rc": done.returncode,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass
class Run:
    out: Path
    returncode: int
    stderr: bytes
    maxrss_kb: int

    @property
    def rows(self) -> dict[str, dict]:
        with open(self.out / "grades.csv", newline="", encoding="utf-8") as handle:
            return {r["student_id"]: r for r in csv.DictReader(handle)}

    def result(self, student_id: str) -> dict:
        return json.loads((self.out / "students" / student_id / "results.json").read_text())

    def feedback(self, student_id: str) -> str:
        return (self.out / "students" / student_id / "feedback.html").read_text()


def grade(submissions: Path, out: Path) -> Run:
    """The grade command in a measuring subprocess (peak RSS of everything it started)."""
    command = [sys.executable, "-m", "autograder", "grade", str(submissions), "--assignment",
               ASSIGNMENT, "--out", str(out), "--jobs", "1", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-c", _MEASURE, *command], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the grader too, not only the measuring parent
        proc.communicate()
        raise
    measured = json.loads(stdout.decode().strip().splitlines()[-1])
    return Run(out, measured["rc"], stderr, measured["maxrss_kb"])


@dataclass
class Corpus:
    full_root: Path
    clean: Run
    full: Run
    rerun: Run
    before: dict[str, str]
    after: dict[str, str]


def _protected(submissions: Path) -> dict[str, str]:
    return {"submissions": tree_digest(submissions),
            "solutions": tree_digest(ROOT / "solutions"),
            "suites": tree_digest(ROOT / "autograder" / "suites")}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    base = tmp_path_factory.mktemp("corpus")
    clean_root = base / "clean" / "submitted"
    full_root = base / "full" / "submitted"
    clean_root.mkdir(parents=True)
    full_root.mkdir(parents=True)
    plant_honest(clean_root)
    plant_honest(full_root)
    for attack in ATTACKS:
        attack.plant(full_root)
    clean = grade(clean_root, base / "clean_out")
    before = _protected(full_root)
    full = grade(full_root, base / "full_out")
    after = _protected(full_root)
    rerun = grade(full_root, base / "full_out")
    return Corpus(full_root, clean, full, rerun, before, after)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


# ------------------------------------------------------------------------------ per attack


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_gets_its_rows_with_words_and_bounds(corpus, attack):
    run = corpus.full
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")[-3000:]
    rows = run.rows
    honest_full = float(rows["ann"]["score"])
    for index, student_id in enumerate(attack.ids):
        assert student_id in rows, (student_id, sorted(rows))
        score = float(rows[student_id]["score"])
        if attack.score == "zero":
            assert score == 0
        elif attack.score == "full":
            assert score == honest_full
        result = run.result(student_id)
        assert result["extra_data"]["student_id"] == student_id
        if attack.originals:
            assert result["extra_data"]["original_name"] == attack.originals[index]
        messages = "\n".join([result["output"], *(t["output"] for t in result["tests"])])
        feedback = run.feedback(student_id)
        if attack.words:
            assert any(w in messages for w in attack.words), messages[:2000]
            assert any(html.escape(w) in feedback for w in attack.words)
        # the grader's own accounting: within the stated per-submission budget
        assert result["execution_time"] <= result["extra_data"]["time_budget_seconds"]
        if "intake_seconds" in result["extra_data"]:
            assert result["extra_data"]["intake_seconds"] <= result["extra_data"][
                "time_budget_seconds"]
        raw = (run.out / "students" / student_id / "results.json").read_bytes()
        assert len(raw) <= MAX_RESULTS_BYTES and len(feedback) <= MAX_FEEDBACK_BYTES
        assert not any(_has_lone_surrogate(s) for s in _strings(result))


# ------------------------------------------------------------------------------ whole run


def test_the_run_exits_0_with_one_row_per_submission(corpus):
    assert corpus.full.returncode == 0, corpus.full.stderr.decode("utf-8", "replace")[-3000:]
    expected = {*HONEST, *(i for a in ATTACKS for i in a.ids)}
    assert set(corpus.full.rows) == expected


def test_honest_students_are_graded_exactly_as_without_attackers(corpus):
    assert corpus.clean.returncode == 0 and corpus.full.returncode == 0
    clean, full = corpus.clean.rows, corpus.full.rows
    assert set(clean) == set(HONEST)
    for student_id in HONEST:
        assert full[student_id] == clean[student_id]
        tests = [[(t["name"], t["score"], t["status"], t["output"]) for t in run.result(
            student_id)["tests"]] for run in (corpus.clean, corpus.full)]
        assert tests[0] == tests[1]
    assert float(clean["ann"]["score"]) > float(clean["ben"]["score"])


def test_nothing_outside_the_output_folder_changed(corpus):
    assert corpus.after == corpus.before


def test_grader_memory_stays_bounded(corpus):
    for run in (corpus.clean, corpus.full, corpus.rerun):
        assert 0 < run.maxrss_kb < MEMORY_BOUND_KB, run.maxrss_kb


def test_a_rerun_finishes_and_regrades_nothing(corpus):
    assert corpus.rerun.returncode == 0
    stderr = corpus.rerun.stderr.decode("utf-8", "replace")
    assert "graded 0 submission(s)" in stderr
    assert corpus.rerun.rows == corpus.full.rows


def test_run_files_cannot_be_overwritten_by_a_student(corpus):
    out = corpus.full.out
    assert (out / "grades.csv").is_file() and (out / "summary.html").is_file()
    assert json.loads((out / "run.json").read_text())["submissions"] == len(corpus.full.rows)
    assert (out / "students" / "grades.csv" / "results.json").is_file()
    assert (out / "students" / "students" / "feedback.html").is_file()


_UNSAFE = [chr(c) for c in (*range(0, 9), *range(11, 32), 0x7F, *range(0x80, 0xA0), 0x202A,
                            0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
                            0x200E, 0x200F, 0x061C)]


def test_reports_are_safe_to_open(corpus):
    out = corpus.full.out
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    pages = [out / "summary.html", *sorted((out / "students").glob("*/feedback.html"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not [c for c in _UNSAFE if c in text], page
    stderr = corpus.full.stderr.decode("utf-8")  # strict: valid UTF-8
    assert not [c for c in _UNSAFE if c in stderr.replace("\n", "")]
    feedback = corpus.full.feedback("sur")
    assert "&lt;U+202E&gt;" in feedback and "&lt;U+001B&gt;" in feedback


def test_a_correct_notebook_with_5_mb_of_figures_scores_full_marks(corpus):
    assert os.path.getsize(corpus.full_root / "figs.ipynb") >= 5 << 20
    result = corpus.full.result("figs")
    assert result["score"] == result["max_score"], result["tests"]


# ------------------------------------------------------------------------------ units


def test_discovery_refuses_links_fifos_and_folders_without_following(tmp_path):
    from autograder.submissions import discover
    root = tmp_path / "submitted"
    root.mkdir()
    plant_honest(root)
    os.mkfifo(root / "pipe.ipynb")
    os.symlink(ROOT / "solutions", root / "dirlink")
    os.symlink("/dev/zero", root / "z.ipynb")
    found = {s.student_id: s for s in discover(root, ASSIGNMENT)}
    assert set(found) == {*HONEST, "pipe", "dirlink", "z"}
    for student_id, words in (("pipe", "`pipe.ipynb` is a FIFO"),
                              ("dirlink", "`dirlink` is a symbolic link"),
                              ("z", "`z.ipynb` is a symbolic link")):
        with pytest.raises(ValueError, match=f"^{words}"):
            found[student_id].read_raw()
    assert found["ann"].read_raw() == CORRECT_EXAMPLE.read_bytes()


def test_no_link_below_the_submissions_folder_is_followed(tmp_path):
    from autograder.safe_files import UnsafeFile, read_regular_file
    inner = tmp_path / "real"
    inner.mkdir()
    (inner / "nb.ipynb").write_bytes(b"{}")
    os.symlink(inner, tmp_path / "alias")
    assert read_regular_file(tmp_path / "real" / "nb.ipynb", 10, below=tmp_path) == b"{}"
    with pytest.raises(UnsafeFile, match="symbolic link"):
        read_regular_file(tmp_path / "alias" / "nb.ipynb", 10, below=tmp_path)
    with pytest.raises(UnsafeFile, match="larger than"):
        read_regular_file(tmp_path / "real" / "nb.ipynb", 1, below=tmp_path)


def test_ids_are_sanitised_and_unique():
    from autograder.safe_text import safe_id, unique_ids
    names = ["ann", "Ann", "a b", "a_b", "=cmd", "..", "", "x" * 300, "é\u0301", "~"]
    ids = unique_ids(names)
    assert len({i.casefold() for i in ids}) == len(ids)
    assert ids[:4] == ["ann~2", "Ann", "a_b", "a_b~2"]  # sorted by (id, name): "A" < "a"
    for student_id in ids:
        assert student_id[0].isalnum() or student_id[0] == "_"
        assert "/" not in student_id and len(student_id) <= 110
    assert safe_id("..") == "_.." and safe_id("=1+1") == "_1+1"
    assert unique_ids(names) == ids  # deterministic


def test_extraction_caps_cells_and_sources():
    from autograder import limits
    from autograder.extract import extract, read_notebook
    reference = extract(read_notebook(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    nb = json.loads(craft(CORRECT_EXAMPLE, replace={
        TWO_LOOPS: "x = 1\n" * (limits.MAX_CELL_CHARS // 6 + 1)}))
    found = extract(nb, reference.cells)
    assert TWO_LOOPS not in {n for c in found.cells for n in c.defined_names}
    assert any("was not graded" in p for p in found.problems)
    assert sum(len(c.source) for c in found.cells) <= limits.MAX_GRADED_CHARS
    nb["cells"] = nb["cells"] + [code_cell("y = 2\n")] * limits.MAX_CELLS
    assert any("only the first" in p for p in extract(nb, reference.cells).problems)


def test_the_limited_reader_bounds_memory_and_time():
    from autograder.extract import NotebookProblem, extract, read_notebook
    from autograder.intake import read_graded_cells
    reference = extract(read_notebook(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    good = read_graded_cells(CORRECT_EXAMPLE.read_bytes(), "notebook", ASSIGNMENT,
                             reference.cells)
    assert len(good.cells) == len(reference.cells) and not good.problems
    with pytest.raises(NotebookProblem, match="memory"):  # 2 million lists > 64 MB
        read_graded_cells(b'{"cells": [' + b"[]," * 2_000_000 + b"[]]}", "notebook",
                          ASSIGNMENT, reference.cells, memory_bytes=64 << 20)
    with pytest.raises(NotebookProblem, match="longer than"):
        read_graded_cells(b'{"cells": [' + b"[]," * 2_000_000 + b"[]]}", "notebook",
                          ASSIGNMENT, reference.cells, seconds=0.001)
    zipped = zip_of({"a/01_knn.ipynb": CORRECT_EXAMPLE.read_bytes()})
    assert read_graded_cells(zipped, "zip", ASSIGNMENT, reference.cells).cells == good.cells


def test_a_grader_failure_on_one_submission_is_its_row(tmp_path, monkeypatch):
    from autograder import cli, remote
    flat = tmp_path / "flat"
    flat.mkdir()
    plant_honest(flat)
    real = remote.grade_job

    def flaky(config, student_id, *args):
        if student_id == "ben":
            raise RuntimeError("simulated failure \udcff\x1b[2J")
        return real(config, student_id, *args)

    monkeypatch.setattr(cli, "grade_job", flaky)
    out = tmp_path / "out"
    assert cli.main(["grade", str(flat), "--assignment", ASSIGNMENT, "--out", str(out),
                     "--jobs", "1", "--no-progress"]) == 0
    result = json.loads((out / "students" / "ben" / "results.json").read_text())
    assert result["score"] == 0 and "simulated failure" in result["output"]
    assert result["extra_data"]["grader_error"]
    with open(out / "grades.csv", newline="") as handle:
        assert {r["student_id"] for r in csv.DictReader(handle)} == set(HONEST)
    monkeypatch.setattr(cli, "grade_job", real)  # the next run retries only the failed row
    assert cli.main(["grade", str(flat), "--assignment", ASSIGNMENT, "--out", str(out),
                     "--jobs", "1", "--no-progress"]) == 0
    assert not json.loads((out / "students" / "ben" / "results.json").read_text())[
        "extra_data"].get("grader_error")


def test_a_grading_process_that_dies_costs_only_its_own_row(tmp_path, monkeypatch):
    from autograder import cli
    flat = tmp_path / "flat"
    flat.mkdir()
    plant_honest(flat)
    monkeypatch.setattr(cli, "grade_job", grade_job_dying_for_ben)
    out = tmp_path / "out"
    assert cli.main(["grade", str(flat), "--assignment", ASSIGNMENT, "--out", str(out),
                     "--jobs", "2", "--no-progress"]) == 0
    with open(out / "grades.csv", newline="") as handle:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(handle)}
    assert set(rows) == set(HONEST) and rows["ben"] == 0
    assert rows["ann"] == rows["cy"] > 0  # retried alone in a fresh pool: graded normally
    ben = json.loads((out / "students" / "ben" / "results.json").read_text())
    assert "BrokenProcessPool" in ben["output"] and ben["extra_data"]["grader_error"]


def test_zip_readers_catch_every_error():
    from autograder.extract import NotebookProblem
    from autograder.intake import notebook_from_zip
    good = notebook_zip(b"{}")
    for bad in (encrypted_zip(good), zip_with_method(good, 99), corrupt_deflate_zip(good),
                zip_with_member_name(zip_of({"w/01_knn.ipynb": b"{}"}), b"w/\xff\xfe_knn.ipynb"),
                b"PK\x05\x06" + bytes(18), good[:40], b""):
        with pytest.raises(NotebookProblem):
            notebook_from_zip(bad, ASSIGNMENT)
    assert notebook_from_zip(good, ASSIGNMENT) == b"{}"
