"""Grade one submission: extract, sandbox, run the hidden suite, build results.json data.

``Grader`` is built once per grading process (it imports the suite, extracts and runs the
reference, starts the sandbox slot) and then grades many submissions.

One submission never stops the others: whatever goes wrong while grading it (an unreadable
file, a hostile notebook, an unexpected error of the grader on that input) becomes its own
result with score 0 and a message in words. Only a ``GraderError`` (broken suite or
reference) stops the run. Every message and name built from student data is capped and
cleaned (``build_results``); the sandbox receives only the graded sources.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder import limits
from autograder.errors import GraderError, StudentError
from autograder.extract import NotebookProblem, extract, read_notebook
from autograder.fixtures import describe_failure, student_seed
from autograder.intake import read_graded_cells
from autograder.proxy import ReferenceProxy, StudentProxy
from autograder.runner import TestOutcome, load_suite, max_score, run_test
from autograder.safe_text import capped, clean, clean_data
from autograder.sandbox import Sandbox, SandboxSettings
from autograder.submissions import Submission, digest_of

COURSE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Assignment:
    """Where an assignment's hidden suite and reference notebook live."""

    name: str
    suite_dir: Path
    reference_notebook: Path

    @classmethod
    def find(cls, name: str, course_root: Path = COURSE_ROOT) -> Assignment:
        suite_dir = Path(autograder.__file__).resolve().parent / "suites" / name
        reference = Path(course_root) / "solutions" / name / f"{name}.ipynb"
        if not suite_dir.is_dir():
            raise GraderError(f"no hidden suite for assignment {name!r} ({suite_dir})")
        if not reference.is_file():
            raise GraderError(f"no reference notebook for {name!r} ({reference})")
        return cls(name, suite_dir, reference)


def _shrink_outputs(result: dict, limit: int) -> None:
    for test in result["tests"]:
        test["output"] = capped(test["output"], limit)
    result["output"] = capped(result["output"], limit * 4)
    result["extra_data"]["printed"] = capped(result["extra_data"]["printed"], limit)


def build_results(student_id: str, assignment: str, outcomes: list[TestOutcome],
                  notes: list[str], extra: dict) -> dict:
    """results.json data (Gradescope schema) from one submission's outcomes.

    Inputs: the student id, the assignment, one TestOutcome per test, notes (messages in
    words), extra_data fields (``printed``, ``seed``...). Every string is capped
    (``limits``) and freed of lone surrogates; the whole file stays under
    ``limits.MAX_RESULTS_BYTES`` (messages are shortened further if needed).
    """
    kept = [clean(n, limits.MAX_FIELD_CHARS) for n in notes[:limits.MAX_NOTES]]
    if len(notes) > limits.MAX_NOTES:
        kept.append(f"... and {len(notes) - limits.MAX_NOTES} more notes")
    extra = {**extra, "student_id": student_id, "assignment": assignment,
             "printed": clean(extra.get("printed", ""), limits.MAX_PRINTED_CHARS)}
    result = {
        "score": round(sum(o.score for o in outcomes), 6),
        "max_score": round(sum(o.max_score for o in outcomes), 6),
        "execution_time": round(float(extra.pop("seconds", 0.0)), 4),
        "output": clean("\n".join(kept), limits.MAX_NOTES_CHARS),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": o.name, "score": o.score, "max_score": o.max_score,
                   "status": o.status, "output": clean(o.output, limits.MAX_TEST_OUTPUT_CHARS),
                   "visibility": "visible"} for o in outcomes],
        "extra_data": extra,
    }
    result = clean_data(result, limits.MAX_NOTES_CHARS)
    limit = limits.MAX_TEST_OUTPUT_CHARS
    while len(json.dumps(result)) > limits.MAX_RESULTS_BYTES and limit > 50:
        limit //= 4
        _shrink_outputs(result, limit)
    return result


def failed_outcomes(tests, message: str) -> list[TestOutcome]:
    """Every test of the suite failed with the same message (nothing could be graded)."""
    return [TestOutcome(t.name, 0.0, t.points, "failed", message) for t in tests]


class Grader:
    """Grades submissions of one assignment in one sandbox slot."""

    def __init__(self, assignment: Assignment, settings: SandboxSettings, slot: int = 0):
        self.assignment = assignment
        reference = extract(read_notebook(assignment.reference_notebook))
        if not reference.cells:
            raise GraderError(f"{assignment.reference_notebook} has no graded solution cells")
        if reference.problems:
            raise GraderError(f"{assignment.reference_notebook} breaks the grader's limits: "
                              + "; ".join(reference.problems))
        self.template = reference.cells
        self.reference = ReferenceProxy(reference.cells)
        self.tests = load_suite(assignment.suite_dir)
        self.max_score = max_score(self.tests)
        self.sandbox = Sandbox(settings, slot)

    def close(self) -> None:
        self.sandbox.close()

    @property
    def time_budget(self) -> float:
        """Seconds one submission may take end to end (see ``autograder.limits``)."""
        return limits.time_budget(self.sandbox.settings.submission_timeout)

    def grade(self, submission: Submission, global_seed: int = 0) -> dict:
        """Grade one submission; returns the results.json data (Gradescope schema + extra)."""
        try:
            raw, problem = submission.read_raw(), None
        except (ValueError, OSError) as error:
            raw, problem = None, str(error)
        return self.grade_bytes(submission.student_id, raw, submission.describe(),
                                global_seed, problem, kind=submission.kind,
                                original_name=submission.original_name)

    def grade_bytes(self, student_id: str, raw: bytes | None, source: str = "",
                    global_seed: int = 0, read_problem: str | None = None, *,
                    kind: str = "notebook", original_name: str | None = None) -> dict:
        """Grade a submitted file's bytes (None plus ``read_problem`` when it was unreadable).

        Inputs: the student id, the file's bytes, where it came from (text), the run's seed,
        ``kind`` "notebook" or "zip", the original file or folder name. Returns results.json
        data; never raises for anything the submission contains (GraderError only for a
        broken suite or reference).
        """
        start = time.monotonic()
        extra = {"seed": student_seed(global_seed, student_id), "global_seed": global_seed,
                 "submission_sha256": digest_of(raw, read_problem),
                 "source": source, "original_name": original_name or student_id,
                 "printed": "", "sandbox_lost": list(self.sandbox.lost),
                 "grader_version": autograder.__version__,
                 "time_budget_seconds": self.time_budget}
        try:
            outcomes, notes, printed = self._grade(raw, read_problem, kind, extra["seed"],
                                                   start, extra)
        except GraderError:
            raise
        except Exception as error:  # noqa: BLE001 - one submission never stops the run
            message = (f"the grader failed on this submission ({type(error).__name__}: "
                       f"{clean(error, 500)}); it will be retried on the next run")
            outcomes, notes, printed = failed_outcomes(self.tests, message), [message], ""
            extra["grader_error"] = message
        extra["printed"] = printed
        extra["sandbox_lost"] = list(self.sandbox.lost)
        extra["seconds"] = time.monotonic() - start
        return build_results(student_id, self.assignment.name, outcomes, notes, extra)

    def _grade(self, raw, read_problem, kind, seed, start, extra):
        """(outcomes, notes, printed) for one submission."""
        try:
            if raw is None:
                raise NotebookProblem(read_problem or "the submission could not be read")
            began = time.monotonic()
            try:
                extraction = read_graded_cells(raw, kind, self.assignment.name, self.template)
            finally:
                extra["intake_seconds"] = round(time.monotonic() - began, 4)
        except NotebookProblem as error:
            message = f"your notebook could not be graded: {error}"
            return failed_outcomes(self.tests, message), [str(error)], ""
        outcomes, printed, load_notes = self._run(extraction, seed, start)
        return outcomes, extraction.problems + load_notes, printed

    def _run(self, extraction, seed: int, start: float):
        notes: list[str] = []
        try:
            # Only the graded sources reach the sandbox: no outputs, attachments or other cells.
            session = self.sandbox.open([c.source for c in extraction.cells], b"")
        except StudentError as error:
            message = f"your graded cells could not be loaded: {describe_failure(error)}"
            return failed_outcomes(self.tests, message), "", [message]
        try:
            for error in session.load_errors:
                notes.append(f"graded cell {error['cell']} raised {error['type']}: "
                             f"{error['message']}")
            student = StudentProxy(session, extraction.cells)
            self.reference.reset()
            deadline = start + self.time_budget
            outcomes = []
            for test in self.tests:
                if time.monotonic() > deadline:
                    outcomes.append(TestOutcome(
                        test.name, 0.0, test.points, "failed",
                        f"not run: the time budget for the whole submission "
                        f"({self.time_budget:g} s) was used up"))
                    continue
                outcomes.append(run_test(test, student, self.reference, seed))
            notes += [f"note: {event}" for event in session.events]
            return outcomes, session.printed(limits.MAX_PRINTED_CHARS), notes
        finally:
            session.close()
