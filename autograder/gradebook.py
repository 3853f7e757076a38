"""nbgrader's gradebook and feedback route for ``python -m autograder grade ... --gradebook``.

After a run over an nbgrader course's ``submitted/<student>/<assignment>/`` tree:

- **Scores.** Each autograded test cell's score (the suite test it maps to, by the rule of
  ``autograder.graded_cells``: grade_id, its snake case, or ``ALIASES``) becomes that cell's
  ``auto_score`` in nbgrader's gradebook (``nbgrader.api.Gradebook``, cells matched by
  ``grade_id``). Student and submission rows are created through the official API where
  ``nbgrader autograde`` has not made them (``update_or_create_student``, ``add_submission``,
  which also creates the empty grades of the written answers). Re-grading updates the same
  rows; a manual score (a written answer's, or an instructor's ``manual_score`` override of
  an autograded cell) is never written. As ``nbgrader autograde`` does, a cell with a manual
  score, and a written answer not graded yet, is flagged ``needs_manual_grade``.
- **Formgrader.** Formgrader shows a submission's scores, and lets the written answers be
  graded, only when ``autograded/<student>/<assignment>/<notebook>.ipynb`` exists with the
  submitted ``timestamp.txt``. Where it is missing or stale, the submitted notebook is
  written there after ``nbgrader autograde``'s own sanitizing preprocessors (outputs cleared,
  test cells and metadata restored from the gradebook), never executed.
- **Feedback.** The student's feedback page (``autograder.reports.feedback_html``, the page
  of ``students/<id>/feedback.html``) is placed where ``nbgrader release_feedback`` looks:
  ``<course>/feedback/<student>/<assignment>/<notebook>.html``, with the ``timestamp.txt``
  and ``submission_secret.txt`` that ``nbgrader collect`` left in the submitted folder
  (release_feedback needs both; a submission without them, i.e. not collected through
  nbgrader's exchange, is listed and gets no page there).

Only submissions in nbgrader's layout (``submitted/<student_id>/<assignment>/*.ipynb``, the
folder name being a valid id unchanged by the grader's sanitising) are written; rows from a
failure of the grader itself are skipped (they are retried by the next run).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import GraderError
from autograder.graded_cells import cell_tests
from autograder.nbgrader_bridge import score_of
from autograder.reports import feedback_html, write_atomic
from autograder.safe_files import read_regular_file
from autograder.submissions import Submission

#: Files of a collected submission that nbgrader's feedback route needs (copied as they are).
FEEDBACK_FILES = ("timestamp.txt", "submission_secret.txt")
MAX_SMALL_FILE_BYTES = 4096


def course_folder(submissions: Path) -> Path:
    """The nbgrader course folder of the grade command's SUBMISSIONS argument.

    Inputs: ``submitted/`` itself or the course folder holding it. Returns the course folder;
    raises GraderError (in words) for any other layout.
    """
    path = Path(submissions).resolve()
    if path.name == "submitted" and path.is_dir():
        return path.parent
    if (path / "submitted").is_dir():
        return path
    raise GraderError(f"--gradebook needs nbgrader's submitted/ tree (or the course folder "
                      f"holding it) as SUBMISSIONS, not {path}")


@dataclass(frozen=True)
class Row:
    """One submission to write: nbgrader's student id, its folder, its results.json data."""

    student_id: str
    folder: Path
    notebook: str
    results: dict
    submission: Submission


def rows_to_write(assignment: str, submissions: list[Submission], results: list[dict]
                  ) -> tuple[list[Row], list[str]]:
    """The submissions in nbgrader's layout with a result to write, and notes on the others."""
    rows, notes = [], []
    for submission, result in zip(submissions, results, strict=True):
        path = Path(submission.path)
        folder = path.parent
        root = submission.root  # the submitted/ folder as discover() walked it
        if not (path.suffix == ".ipynb" and folder.name == assignment and root is not None
                and root.name == "submitted" and folder.parent.parent == root
                and folder.parent.name == submission.student_id):
            notes.append(f"{submission.student_id}: not in nbgrader's layout "
                         f"(submitted/<student>/{assignment}/*.ipynb); not in the gradebook")
        elif result["extra_data"].get("grader_error"):
            notes.append(f"{submission.student_id}: the grader failed on this submission; "
                         "not written to the gradebook (run the command again)")
        else:
            rows.append(Row(submission.student_id, folder, path.stem, result, submission))
    return rows, notes


def _small_file(folder: Path, name: str, below: Path) -> str | None:
    """A small text file of a submitted folder, exactly as it is (None when missing,
    unreadable or not UTF-8)."""
    try:
        return read_regular_file(folder / name, MAX_SMALL_FILE_BYTES,
                                 below=below).decode("utf-8")
    except (OSError, ValueError):
        return None


def write_scores(db_url: str, assignment: str, notebook: str, mapping: dict[str, str],
                 rows: list[Row]) -> None:
    """Set ``auto_score`` of every mapped test cell for every row; never a manual score.

    Inputs: the gradebook's URL (``sqlite:///.../gradebook.db``), the assignment, the
    gradebook's notebook name (the reference notebook's stem), {grade_id: suite test}, the
    rows. Raises GraderError when the gradebook does not know the assignment's notebook or
    its test cells (run ``nbgrader generate_assignment``).
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc
    from sqlalchemy.exc import SAWarning
    with warnings.catch_warnings(), Gradebook(db_url) as gradebook:
        # nbgrader's own add_submission triggers SQLAlchemy's autoflush warnings (harmless).
        warnings.simplefilter("ignore", SAWarning)
        try:
            cells = gradebook.find_notebook(notebook, assignment).grade_cells
        except MissingEntry as error:
            raise GraderError(f"the gradebook {db_url} has no notebook {notebook!r} of "
                              f"{assignment!r}; run `nbgrader generate_assignment "
                              f"{assignment}` in the course first") from error
        names = {cell.name for cell in cells}
        unknown = sorted(set(mapping) - names)
        if unknown:
            raise GraderError(f"the gradebook lacks the test cells {', '.join(unknown)} of "
                              f"{assignment}; run `nbgrader generate_assignment {assignment} "
                              "--force` in the course")
        for row in rows:
            gradebook.update_or_create_student(row.student_id)
            stamp = _small_file(row.folder, "timestamp.txt", row.submission.root)
            kwargs = {}
            if stamp and stamp.strip():
                try:
                    kwargs["timestamp"] = parse_utc(stamp.strip())
                except (ValueError, OverflowError):
                    pass
            try:
                submission = gradebook.find_submission(assignment, row.student_id)
                if kwargs:
                    submission.timestamp = kwargs["timestamp"]
            except MissingEntry:
                gradebook.add_submission(assignment, row.student_id, **kwargs)
            for name in sorted(names):
                grade = gradebook.find_grade(name, notebook, assignment, row.student_id)
                if name in mapping:
                    grade.auto_score = score_of(row.results, mapping[name]).score
                    grade.needs_manual_grade = grade.manual_score is not None
                elif grade.manual_score is None and grade.auto_score is None:
                    grade.needs_manual_grade = True
            gradebook.db.commit()


def place_feedback(course: Path, assignment: str, row: Row) -> str | None:
    """Write the row's feedback page where ``nbgrader release_feedback`` finds it.

    Returns None when placed, else a note saying why not (files nbgrader needs are missing).
    """
    copies = {name: _small_file(row.folder, name, row.submission.root)
              for name in FEEDBACK_FILES}
    missing = [name for name, text in copies.items() if not (text or "").strip()]
    if missing:
        return (f"{row.student_id}: no {' or '.join(missing)} in the submitted folder (not "
                "collected with `nbgrader collect`), so nbgrader cannot release feedback; "
                "hand out students/<id>/feedback.html instead")
    folder = course / "feedback" / row.student_id / assignment
    for name, text in copies.items():
        write_atomic(folder / name, text)
    write_atomic(folder / f"{row.notebook}.html", feedback_html(row.results))
    return None


#: nbgrader autograde's own sanitizing steps (nbgrader.converters.Autograde), without executing.
SANITIZE = ("ClearOutput", "DeduplicateIds", "OverwriteKernelspec", "OverwriteCells",
            "CheckCellMetadata")


def write_autograded(course: Path, assignment: str, notebook: str, row: Row, db_url: str
                     ) -> str | None:
    """The notebook formgrader opens: ``autograded/<student>/<assignment>/<notebook>.ipynb``.

    Formgrader shows a submission's scores, and lets written answers be graded, only when
    this file exists with the submitted ``timestamp.txt``. It is the submitted notebook after
    nbgrader autograde's sanitizing preprocessors (outputs cleared, test cells and metadata
    restored from the gradebook), never executed. A current one (same timestamp, e.g. from
    ``nbgrader autograde``) is kept. Returns None when written or current, else a note.
    """
    import nbformat
    from nbgrader import preprocessors
    folder = course / "autograded" / row.student_id / assignment
    target = folder / f"{notebook}.ipynb"
    stamp = _small_file(row.folder, "timestamp.txt", row.submission.root)
    if target.is_file() and _small_file(folder, "timestamp.txt", course) == stamp:
        return None
    try:
        nb = nbformat.reads(row.submission.read_raw().decode("utf-8"), as_version=4)
        resources = {"nbgrader": {"db_url": db_url, "assignment": assignment,
                                  "notebook": notebook, "student": row.student_id}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in SANITIZE:
                nb, resources = getattr(preprocessors, name)().preprocess(nb, resources)
        text = nbformat.writes(nb)
    except Exception as error:  # noqa: BLE001 - a student's file: a note, never a crash
        return (f"{row.student_id}: the notebook could not be prepared for formgrader "
                f"({type(error).__name__}); its scores are in the gradebook")
    write_atomic(target, text)
    if stamp:
        write_atomic(folder / "timestamp.txt", stamp)
    else:
        (folder / "timestamp.txt").unlink(missing_ok=True)
    return None


def export(submissions_arg: Path, db_url: str | None, assignment: str,
           reference_notebook: Path, submissions: list[Submission],
           results: list[dict]) -> list[str]:
    """Scores into nbgrader's gradebook and feedback pages into ``<course>/feedback/``.

    Inputs: the grade command's SUBMISSIONS, the gradebook URL (None or "": the course's
    ``gradebook.db``), the assignment, its reference notebook, the submissions found and
    their results.json data (same order). Returns notes for the instructor, in words.
    """
    course = course_folder(submissions_arg)
    if not db_url and not (course / "gradebook.db").is_file():
        raise GraderError(f"no nbgrader gradebook in {course} (gradebook.db); run `nbgrader "
                          f"generate_assignment {assignment}` in the course first, or give "
                          "its database with --gradebook sqlite:///PATH")
    url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    mapping = cell_tests(reference_notebook, assignment)
    rows, notes = rows_to_write(assignment, submissions, results)
    write_scores(url, assignment, Path(reference_notebook).stem, mapping, rows)
    placed = 0
    for row in rows:
        note = write_autograded(course, assignment, Path(reference_notebook).stem, row, url)
        if note:
            notes.append(note)
        note = place_feedback(course, assignment, row)
        if note:
            notes.append(note)
        else:
            placed += 1
    notes.append(f"gradebook {url}: autograded scores of {len(rows)} submission(s) written; "
                 f"{placed} feedback page(s) in {course / 'feedback'} "
                 f"(release them with `nbgrader release_feedback {assignment}`)")
    return notes
