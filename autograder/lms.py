"""Grade files that Canvas and Moodle import as they are, driven by a roster file.

    roster = load_roster(Path("roster.csv"))             # ValueError with a message in words
    matched = match(results, roster)                     # who goes where, who is missing
    canvas_csv(matched.rows, "01_knn", "123", 14.0)      # Canvas gradebook import
    moodle_csv(matched.rows, "01_knn")                   # Moodle "Import grades: CSV file"

The roster (CSV with a header row, UTF-8, a byte-order mark allowed) maps each nbgrader
student id to the LMS's identities; only ``nbgrader_id`` is required::

    nbgrader_id,name,email,lms_id,sis_user_id,sis_login_id,section
    alice,"Doe, Alice",alice@uni.example,4711,S-001,adoe,Group A

- nbgrader_id: the folder name under ``submitted/`` (or the file stem); matched against the
  grader's student id, then the original name, then the sanitised form of the roster's id.
- lms_id: Canvas's numeric user ID (Canvas's "ID" column); sis_user_id: the institution's
  student number (Canvas's "SIS User ID", Moodle's "ID number"); sis_login_id: Canvas's
  "SIS Login ID"; email: Moodle's "Email address"; name and section: shown as given.

A Canvas row needs one of lms_id, sis_user_id, sis_login_id; a Moodle row needs email or
sis_user_id. Students without a roster row (or without the identity one LMS needs) are
listed, never dropped silently. Every cell passes ``safe_text.for_csv``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from autograder.safe_files import read_regular_file
from autograder.safe_text import for_csv, readable_name, safe_id

MAX_ROSTER_BYTES = 10 * 1024 * 1024
ROSTER_COLUMNS = ("nbgrader_id", "name", "email", "lms_id", "sis_user_id", "sis_login_id",
                  "section")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Canvas's own gradebook export writes this label, with the leading spaces, as row 2.
CANVAS_POINTS_LABEL = "    Points Possible"
MOODLE_COLUMNS = ("ID number", "Email address", "Full name")


@dataclass(frozen=True)
class RosterEntry:
    """One student's identities (empty string = not given)."""

    nbgrader_id: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""

    @property
    def in_canvas(self) -> bool:
        return bool(self.lms_id or self.sis_user_id or self.sis_login_id)

    @property
    def in_moodle(self) -> bool:
        return bool(self.email or self.sis_user_id)


@dataclass
class Matched:
    """Results matched to roster entries.

    - rows: [(entry, result)] sorted by student id.
    - not_in_roster: student ids with a result but no roster entry.
    - no_canvas / no_moodle: student ids in the roster without the identity that LMS needs.
    - no_submission: roster ids without a result (not in the files; the LMS keeps its value).
    """

    rows: list = field(default_factory=list)
    not_in_roster: list = field(default_factory=list)
    no_canvas: list = field(default_factory=list)
    no_moodle: list = field(default_factory=list)
    no_submission: list = field(default_factory=list)


def load_roster(path: Path) -> dict[str, RosterEntry]:
    """The roster file as {nbgrader_id: entry}. Raises ValueError with a message in words
    (not UTF-8, no ``nbgrader_id`` column, an unknown column, an empty or repeated id)."""
    name = readable_name(Path(path).name)
    try:
        text = read_regular_file(Path(path), MAX_ROSTER_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"roster `{name}` is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    if "nbgrader_id" not in header:
        raise ValueError(f"roster `{name}` has no `nbgrader_id` column (columns: "
                         f"{', '.join(ROSTER_COLUMNS)})")
    unknown = [h for h in header if h not in ROSTER_COLUMNS]
    if unknown:
        raise ValueError(f"roster `{name}` has unknown column(s) {', '.join(unknown)} "
                         f"(known: {', '.join(ROSTER_COLUMNS)})")
    reader.fieldnames = header
    roster: dict[str, RosterEntry] = {}
    try:
        for line, row in enumerate(reader, start=2):
            if None in row:
                raise ValueError(f"roster `{name}` line {line} has more cells than columns")
            values = {k: (v or "").strip() for k, v in row.items()}
            if not values["nbgrader_id"]:
                if any(values.values()):
                    raise ValueError(f"roster `{name}` line {line} has no nbgrader_id")
                continue
            if values["nbgrader_id"] in roster:
                raise ValueError(f"roster `{name}` line {line}: nbgrader_id "
                                 f"{values['nbgrader_id']!r} appears twice")
            roster[values["nbgrader_id"]] = RosterEntry(**values)
    except csv.Error as error:
        raise ValueError(f"roster `{name}` is not valid CSV ({error})") from None
    return roster


def match(results: list[dict], roster: dict[str, RosterEntry]) -> Matched:
    """Pair each result (results.json data) with its roster entry (see the module doc)."""
    by_safe: dict[str, RosterEntry] = {}
    for key, entry in roster.items():
        by_safe.setdefault(safe_id(key), entry)
    matched, used = Matched(), set()
    for result in sorted(results, key=lambda r: str(r["extra_data"]["student_id"])):
        extra = result["extra_data"]
        student = str(extra["student_id"])
        entry = (roster.get(student) or roster.get(str(extra.get("original_name", "")))
                 or by_safe.get(student))
        if entry is None or entry.nbgrader_id in used:
            matched.not_in_roster.append(student)
            continue
        used.add(entry.nbgrader_id)
        matched.rows.append((entry, result))
        if not entry.in_canvas:
            matched.no_canvas.append(student)
        if not entry.in_moodle:
            matched.no_moodle.append(student)
    matched.no_submission = sorted(set(roster) - used)
    return matched


def score_text(value) -> str:
    """A score for an LMS: plain decimal, at most 4 decimals, no exponent ("12.5", "0")."""
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _write(rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for cells in rows:
        writer.writerow([for_csv(c) for c in cells])
    return buffer.getvalue()


def canvas_column(assignment: str, canvas_assignment_id: str) -> str:
    """Canvas's title of an assignment column: ``01_knn (123)``."""
    return f"{assignment} ({canvas_assignment_id})"


def canvas_csv(rows: list, assignment: str, canvas_assignment_id: str,
               points_possible: float) -> str:
    """Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then the
    assignment column; row 2 is Canvas's "Points Possible" row; one row per student that
    Canvas can identify (``RosterEntry.in_canvas``), score = results.json's final score."""
    table = [[*CANVAS_COLUMNS, canvas_column(assignment, canvas_assignment_id)],
             [CANVAS_POINTS_LABEL, "", "", "", "", score_text(points_possible)]]
    for entry, result in rows:
        if entry.in_canvas:
            table.append([entry.name, entry.lms_id, entry.sis_user_id, entry.sis_login_id,
                          entry.section, score_text(result["score"])])
    return _write(table)


def moodle_csv(rows: list, item: str) -> str:
    """Moodle grade import: ID number, Email address, Full name (identifier columns; map one
    of them to the user field in Moodle's form), then one column for the grade item."""
    table = [[*MOODLE_COLUMNS, item]]
    for entry, result in rows:
        if entry.in_moodle:
            table.append([entry.sis_user_id, entry.email, entry.name,
                          score_text(result["score"])])
    return _write(table)
