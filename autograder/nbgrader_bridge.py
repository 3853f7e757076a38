"""The hidden suite inside ``nbgrader autograde``: one source of truth for both graders.

Every autograded test cell of a solution notebook holds, in a hidden region (nbgrader's
generate_assignment strips it from the release, so it only ever runs in the instructor's
``nbgrader autograde`` or ``nbgrader validate`` of the source notebook)::

    ### BEGIN HIDDEN TESTS
    from autograder.nbgrader_bridge import hidden_test
    hidden_test("01_knn", "test_compute_distances_two_loops")
    ### END HIDDEN TESTS
    check_distances(compute_distances_two_loops)          # the visible self-check

(``tools/hidden_tests.py`` writes these regions.) ``hidden_test`` grades the submission with
the grader's own code, ``autograder.grading.Grader``: the graded cells are read from the
submitted notebook file and extracted exactly as ``python -m autograder grade`` does, run in a
fresh namespace by the sandbox's own worker code (``autograder.worker.Worker``), with the same
codec round trip, proxies, reference, suite, runner, seed (``student_seed(seed, student_id)``)
and limits. Only the process boundary differs: the worker runs in the kernel's process
(``InProcessSandbox``). So both graders give the same score per test.

The whole suite runs once per kernel, at the first hidden cell; each cell then prints its
test's outcome and publishes that test's score as the cell's result (an ``execute_result``)
*before* the visible self-check runs. nbgrader's ``determine_grade`` decides a test cell on
its first error, stderr or execute_result output, so nothing the visible self-check does
afterwards (fail, warn, print to stderr, hang) can change the score.

Which files: nbgrader autograde runs the notebook in ``<course>/autograded/<student>/
<assignment>/``. The bridge grades the student's file in ``<course>/submitted/<student>/
<assignment>/`` (the very file ``python -m autograder grade <course>`` reads; found and named
by ``autograder.submissions.discover``), else the notebook in the working folder. Outside
autograde (``nbgrader validate``, Run All on the solution notebook) it grades the notebook in
the working folder (``<assignment>.ipynb``), so the solution shows its own full marks.
Seed: ``AUTOGRADER_SEED`` (default 0) as ``--seed`` of the grade command.

Limits of running in the kernel (say so to anyone comparing the graders): student code is
NOT sandboxed here (as in any nbgrader autograde): it can read files, use the network, or
tamper with the grader in its process. Calls are stopped after the same per-call and
per-submission times (SIGALRM in the kernel's main thread, like the sandbox's outside kill:
the worker is then replaced by a fresh one); there is no memory limit, and ``os._exit`` or a
crash ends the kernel (nbgrader then scores the remaining cells 0). What the student code
prints (stdout and stderr, Python level) is kept in a buffer capped like the sandbox's output
file, never written to the cell: a ``print(..., file=sys.stderr)`` or a warning during grading
cannot zero the cell. Output written straight to file descriptor 2 (C code, ``os.write``)
is not caught.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

#: The numpy error handling of a fresh interpreter (the sandbox's worker starts with it).
FRESH_NUMPY_ERRORS = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}


class _Expired(BaseException):
    """Raised into student code when a call runs past its time (the sandbox kills instead)."""


class CappedOutput(io.TextIOBase):
    """A text sink standing in for the sandbox's capped output file.

    Keeps the first ``keep`` characters; once more than ``max_bytes`` (UTF-8) were written,
    every write raises ``OSError(EFBIG)``, as writing past the sandbox's RLIMIT_FSIZE does.
    """

    def __init__(self, max_bytes: int, keep: int = 64 * 1024):
        super().__init__()
        self.max_bytes, self.keep, self.written = max_bytes, keep, 0
        self._parts: list[str] = []
        self._kept = 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        size = len(text.encode("utf-8", "replace"))
        if self.written + size > self.max_bytes:
            raise OSError(errno.EFBIG, "File too large")
        self.written += size
        if self._kept < self.keep:
            self._parts.append(text[:self.keep - self._kept])
            self._kept += len(self._parts[-1])
        return len(text)

    def text(self) -> str:
        return "".join(self._parts)


@contextlib.contextmanager
def _time_limit(seconds: float, expired: list):
    """Raise ``_Expired`` into the running code after ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(_signum, _frame):
        expired.append(True)
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


class InProcessSession:
    """``autograder.sandbox.Session``'s interface over the sandbox's worker code, run here.

    Requests and replies make the same JSON round trip as over the sandbox's socket; the
    names and load errors are accepted the same way; a call past ``call_timeout`` (or past
    the submission's ``submission_timeout`` since the session opened) raises StudentTimeout
    and replaces the worker by a fresh one (cells loaded again, ``generation`` + 1), as a
    killed sandbox child is replaced. Student code runs in a private scratch folder, with
    its own numpy error state and fresh warning filters, its output captured.
    """

    def __init__(self, settings, cells: list[str], notebook: bytes = b""):
        self.settings = settings
        self.cells = cells
        self.notebook = notebook
        self.started = time.monotonic()
        self.generation = 0
        self.names: dict[str, str] = {}
        self.load_errors: list[dict] = []
        self.events: list[str] = []
        self._output = CappedOutput(settings.max_output_bytes)
        self._numpy_errors = dict(FRESH_NUMPY_ERRORS)
        self._scratch = tempfile.mkdtemp(prefix="autograder-bridge-")
        self._worker = None
        self._start()

    def _remaining(self) -> float:
        return self.settings.submission_timeout - (time.monotonic() - self.started)

    def _limit(self, limit: float) -> float:
        from autograder.errors import StudentTimeout
        remaining = self._remaining()
        if remaining <= 0:
            raise StudentTimeout("the time budget for the whole submission "
                                 f"({self.settings.submission_timeout:g} s) is used up")
        return min(limit, remaining)

    def _start(self) -> None:
        from autograder.errors import BadReply
        from autograder.sandbox import MAX_LOAD_REPLY_BYTES, accept_load_reply
        from autograder.worker import Worker
        self._worker = Worker()
        self.generation += 1
        request = {"op": "load", "cells": self.cells,
                   "notebook": base64.b64encode(self.notebook).decode()}
        reply = self._exchange(request, self._limit(self.settings.load_timeout), "loading",
                               MAX_LOAD_REPLY_BYTES)
        try:
            names, errors = accept_load_reply(reply)  # exactly as Session._start keeps them
        except BadReply:
            self._worker = None
            raise
        self.names = names
        if self.generation == 1:
            self.load_errors = errors

    @contextlib.contextmanager
    def _student_context(self):
        """Scratch folder, captured output, fresh warning filters, the session's numpy state."""
        import numpy as np
        folder, kernel_errors = os.getcwd(), np.geterr()
        np.seterr(**self._numpy_errors)
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(self._output), \
                    contextlib.redirect_stderr(self._output):
                warnings.simplefilter("default")
                warnings.showwarning = self._show_warning  # restored by catch_warnings
                os.chdir(self._scratch)
                yield
        finally:
            self._numpy_errors = np.geterr()
            np.seterr(**kernel_errors)
            os.chdir(folder)

    def _show_warning(self, message, category, filename, lineno, file=None, line=None):
        """Warnings go where the sandbox sends them: to the captured output."""
        self._output.write(warnings.formatwarning(message, category, filename, lineno, line))

    def _exchange(self, request: dict, limit: float, what: str,
                  max_bytes: int | None = None) -> dict:
        from autograder.errors import BadReply, StudentTimeout
        from autograder.worker import _error
        expired: list = []
        payload = json.dumps(request, allow_nan=False)
        try:
            with self._student_context(), _time_limit(limit, expired):
                reply = self._worker.handle(json.loads(payload))
                try:
                    raw = json.dumps(reply, allow_nan=False, separators=(",", ":"))
                except BaseException as exc:  # noqa: BLE001 - as the worker's serve loop
                    raw = json.dumps({"ok": False, "error": _error(exc)})
        except _Expired:
            expired.append(True)
        if expired:
            self._worker = None
            self.events.append(f"time-out while {what}")
            raise StudentTimeout(f"{what} took longer than the limit; it was stopped")
        size, cap = len(raw.encode("utf-8", "surrogatepass")), max_bytes or \
            self.settings.max_reply_bytes
        if size > cap:
            self._worker = None
            raise BadReply(f"a reply of {size} bytes exceeds the {cap}-byte limit")
        reply = json.loads(raw)
        if not isinstance(reply, dict):
            raise BadReply("the worker sent a malformed reply")
        return reply

    def request(self, request: dict, what: str = "running your code") -> dict:
        """Answer one request; start a fresh worker first if the last one was stopped."""
        if self._worker is None:
            self._start()
        return self._exchange(request, self._limit(self.settings.call_timeout), what)

    def printed(self, limit: int = 4000) -> str:
        """What the student's code printed (first ``limit`` characters)."""
        return self._output.text()[:limit]

    def close(self) -> None:
        self._worker = None
        shutil.rmtree(self._scratch, ignore_errors=True)


class InProcessSandbox:
    """Stands in for ``autograder.sandbox.Sandbox`` in a Grader: sessions run in this process."""

    def __init__(self, settings):
        self.settings = settings
        self.lost = ["no sandbox: the student's code ran in the grading process "
                     "(nbgrader autograde)"]

    def open(self, cells: list[str], notebook: bytes = b"") -> InProcessSession:
        return InProcessSession(self.settings, cells, notebook)

    def close(self) -> None:
        pass


def in_process_grader(assignment: str, settings=None):
    """A ``Grader`` for ``assignment`` whose submissions run in this process.

    Inputs: the assignment name; ``SandboxSettings`` (default: the grade command's defaults).
    """
    from autograder.grading import Assignment, Grader
    from autograder.sandbox import SandboxSettings
    grader = Grader(Assignment.find(assignment), settings or SandboxSettings())
    grader.sandbox.close()  # never started: the Sandbox starts its zygote on first use
    grader.sandbox = InProcessSandbox(grader.sandbox.settings)
    return grader


def find_submission(assignment: str, workdir: Path, autograding: bool):
    """The submission to grade from a kernel running in ``workdir``.

    In nbgrader autograde (``workdir`` = ``<course>/autograded/<student>/<assignment>``):
    the student's file in ``<course>/submitted/`` as ``discover`` finds and names it, else
    the notebook in ``workdir`` under the student folder's name. Otherwise
    ``workdir/<assignment>.ipynb`` (the solution notebook itself when validating it).
    Returns an ``autograder.submissions.Submission``; raises GraderError if none is found.
    """
    from autograder.errors import GraderError
    from autograder.safe_text import safe_id
    from autograder.submissions import Submission, discover
    workdir = Path(workdir).resolve()
    if autograding and len(workdir.parents) >= 3:
        folder = workdir.parents[2] / "submitted" / workdir.parent.name / workdir.name
        if folder.is_dir():
            for submission in discover(workdir.parents[2] / "submitted", assignment):
                if folder in (Path(submission.path), Path(submission.path).parent):
                    return submission
    notebook = workdir / f"{assignment}.ipynb"
    if not notebook.is_file():
        raise GraderError(f"no notebook {notebook.name} to grade in {workdir}")
    if autograding:
        return Submission(safe_id(workdir.parent.name), notebook)
    return discover(notebook, assignment)[0]


@dataclass
class TestScore:
    """One suite test function's share of a graded submission (all its parametrisations)."""

    name: str
    score: float
    max_score: float
    lines: list[str]


TestScore.__test__ = False


def score_of(results: dict, test: str) -> TestScore:
    """The score of suite test function ``test`` (e.g. "test_predict_labels") in results.json
    data. Raises GraderError when the suite has no such test."""
    from autograder.errors import GraderError
    found = [t for t in results["tests"]
             if t["name"].split("::")[-1].split("[")[0] == test]
    if not found:
        raise GraderError(f"the hidden suite has no test named {test!r}")
    lines = []
    for t in found:
        lines.append(f"{t['name']}: {t['score']:g} / {t['max_score']:g} points")
        lines += [f"    {line}" for line in str(t["output"]).splitlines() if line.strip()]
    return TestScore(test, round(sum(t["score"] for t in found), 6),
                     round(sum(t["max_score"] for t in found), 6), lines)


_GRADERS: dict[str, object] = {}
_RESULTS: dict[tuple, dict] = {}


def grade_here(assignment: str, workdir: Path | None = None) -> dict:
    """results.json data for the submission of this kernel (graded once, then cached)."""
    autograding = os.environ.get("NBGRADER_EXECUTION") == "autograde"
    submission = find_submission(assignment, Path(workdir or os.getcwd()), autograding)
    seed = int(os.environ.get("AUTOGRADER_SEED", "0"))
    from autograder.submissions import sha256_of
    key = (assignment, str(submission.path), submission.student_id, seed,
           sha256_of(submission.read_raw()))
    if key not in _RESULTS:
        if assignment not in _GRADERS:
            _GRADERS[assignment] = in_process_grader(assignment)
        _RESULTS[key] = _GRADERS[assignment].grade(submission, seed)
    return _RESULTS[key]


def _publish(score: float) -> None:
    """Show ``score`` as the cell's result now (nbgrader reads the first execute_result)."""
    shell = None
    if "IPython" in sys.modules:
        from IPython import get_ipython
        shell = get_ipython()
    if shell is None:
        return
    if shell.displayhook.quiet():
        from autograder.errors import GraderError
        raise GraderError("this test cell ends with ';', which hides its result: nbgrader "
                          "could not read the hidden test's score (rewrite it with "
                          "tools/hidden_tests.py)")
    shell.displayhook(score)


def hidden_test(assignment: str, test: str) -> None:
    """Grade this kernel's submission (once) and publish suite test ``test``'s score.

    Inputs: the assignment ("01_knn"); the suite test function's name
    ("test_compute_distances_two_loops"), matching the cell (``tools/hidden_tests.py``).
    Prints the test's outcome (stdout) and shows the score (a float) as the cell's result.
    Nothing reaches stderr while grading. Raises GraderError when the grader itself fails
    (the cell then shows the error and scores 0).
    """
    kept = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(kept):
        warnings.simplefilter("ignore")
        result = score_of(grade_here(assignment), test)
    print("\n".join(["Hidden tests (the score of this cell):", *result.lines]))
    sys.stdout.flush()
    _publish(float(result.score))
