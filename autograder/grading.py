"""Grade one submission: extract, sandbox, run the hidden suite, build results.json data.

``Grader`` is built once per grading process (it imports the suite, extracts and runs the
reference, starts the sandbox slot) and then grades many submissions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder.errors import GraderError, StudentError
from autograder.extract import NotebookProblem, extract, parse_notebook, read_notebook
from autograder.fixtures import describe_failure, student_seed
from autograder.proxy import ReferenceProxy, StudentProxy
from autograder.runner import TestOutcome, load_suite, max_score, run_test
from autograder.sandbox import Sandbox, SandboxSettings
from autograder.submissions import Submission, sha256_of

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


class Grader:
    """Grades submissions of one assignment in one sandbox slot."""

    def __init__(self, assignment: Assignment, settings: SandboxSettings, slot: int = 0):
        self.assignment = assignment
        reference = extract(read_notebook(assignment.reference_notebook))
        if not reference.cells:
            raise GraderError(f"{assignment.reference_notebook} has no graded solution cells")
        self.template = reference.cells
        self.reference = ReferenceProxy(reference.cells)
        self.tests = load_suite(assignment.suite_dir)
        self.max_score = max_score(self.tests)
        self.sandbox = Sandbox(settings, slot)

    def close(self) -> None:
        self.sandbox.close()

    def _all_failed(self, message: str) -> list[TestOutcome]:
        return [TestOutcome(t.name, 0.0, t.points, "failed", message) for t in self.tests]

    def grade(self, submission: Submission, global_seed: int = 0) -> dict:
        """Grade one submission; returns the results.json data (Gradescope schema + extra)."""
        try:
            raw, problem = submission.read_bytes(), None
        except (ValueError, OSError) as error:
            raw, problem = None, str(error)
        return self.grade_bytes(submission.student_id, raw, submission.describe(),
                                global_seed, problem)

    def grade_bytes(self, student_id: str, raw: bytes | None, source: str = "",
                    global_seed: int = 0, read_problem: str | None = None) -> dict:
        """Grade notebook bytes (None plus ``read_problem`` when the file was unreadable)."""
        start = time.perf_counter()
        seed = student_seed(global_seed, student_id)
        notes: list[str] = []
        printed = ""
        digest = sha256_of(raw) if raw is not None else ""
        try:
            if raw is None:
                raise NotebookProblem(read_problem or "the submission could not be read")
            extraction = extract(parse_notebook(raw), self.template)
        except (NotebookProblem, ValueError, OSError) as error:
            outcomes = self._all_failed(f"your notebook could not be graded: {error}")
            notes.append(str(error))
        else:
            notes += extraction.problems
            outcomes, printed, load_notes = self._run(extraction, raw, seed)
            notes += load_notes
        score = round(sum(o.score for o in outcomes), 6)
        return {
            "score": score,
            "max_score": self.max_score,
            "execution_time": round(time.perf_counter() - start, 4),
            "output": "\n".join(notes),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [{"name": o.name, "score": o.score, "max_score": o.max_score,
                       "status": o.status, "output": o.output, "visibility": "visible"}
                      for o in outcomes],
            "extra_data": {"student_id": student_id,
                           "assignment": self.assignment.name, "seed": seed,
                           "global_seed": global_seed, "submission_sha256": digest,
                           "source": source, "printed": printed,
                           "sandbox_lost": list(self.sandbox.lost),
                           "grader_version": autograder.__version__},
        }

    def _run(self, extraction, raw: bytes, seed: int):
        notes: list[str] = []
        try:
            session = self.sandbox.open([c.source for c in extraction.cells], raw)
        except StudentError as error:
            message = f"your graded cells could not be loaded: {describe_failure(error)}"
            return self._all_failed(message), "", [message]
        try:
            for error in session.load_errors:
                notes.append(f"graded cell {error['cell']} raised {error['type']}: "
                             f"{error['message']}")
            student = StudentProxy(session, extraction.cells)
            self.reference.reset()
            outcomes = [run_test(test, student, self.reference, seed) for test in self.tests]
            notes += [f"note: {event}" for event in session.events]
            return outcomes, session.printed(), notes
        finally:
            session.close()
