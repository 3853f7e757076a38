"""Grading outputs: grades.csv, results.json, feedback.html per student, summary.html.

Layout of the output folder (per-student files live under ``students/``, so no student id,
not even ``grades.csv`` or ``summary.html``, can collide with the run's own files):

    grades.csv  summary.html  run.json
    students/<student_id>/results.json
    students/<student_id>/feedback.html

Every file is written atomically (temporary file in the same folder, then ``os.replace``), so
an interrupted run never leaves half a file. Reports are safe to open: every student string
is cleaned of lone surrogates; in HTML it is escaped with control and bidi characters made
visible (``<U+202E>``); in grades.csv every cell is neutralised against spreadsheet formulas
(a leading ``= + - @`` tab or CR gets a ``'``).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import tempfile
import urllib.parse
from pathlib import Path

from autograder import limits
from autograder.safe_files import read_regular_file
from autograder.safe_text import clean_data, for_csv, for_html, safe_id

STUDENTS_DIR = "students"


def safe_dirname(student_id: str) -> str:
    """A folder name for a student id (``safe_text.safe_id`` rules; the ``~n`` suffix of a
    uniqueness-renamed id is kept). No separators, never starts with '.', never empty."""
    base, tilde, number = student_id.partition("~")
    suffix = f"~{number}" if tilde and number.isdigit() and number.isascii() else ""
    return safe_id(base if suffix else student_id)[:120] + suffix


def student_dir(out_dir: Path, student_id: str) -> Path:
    """The folder of one student's results.json and feedback.html."""
    return Path(out_dir) / STUDENTS_DIR / safe_dirname(student_id)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def results_path(out_dir: Path, student_id: str) -> Path:
    return student_dir(out_dir, student_id) / "results.json"


def load_results(path: Path) -> dict | None:
    """A previous results.json, or None when missing, unreadable, oversized or not in the
    expected shape (then it is regraded)."""
    try:
        data = json.loads(read_regular_file(path, 4 * limits.MAX_RESULTS_BYTES))
    except (OSError, ValueError, RecursionError):
        return None
    if not (isinstance(data, dict) and isinstance(data.get("tests"), list)
            and isinstance(data.get("extra_data"), dict)):
        return None
    return data


def write_student(out_dir: Path, result: dict) -> None:
    """results.json and feedback.html for one student (strings cleaned again, so a caller's
    lone surrogate can never make the write fail)."""
    result = clean_data(result, limits.MAX_NOTES_CHARS)
    folder = student_dir(out_dir, result["extra_data"]["student_id"])
    write_atomic(folder / "feedback.html", feedback_html(result))
    write_atomic(folder / "results.json", json.dumps(result, indent=1, sort_keys=True))


def _short_name(test_name: str) -> str:
    return test_name.split("::", 1)[-1]


def grades_csv(results: list[dict], test_names: list[str]) -> str:
    """One row per student: student_id, score, max_score, then one column per test; with a
    late policy (any ``extra_data.late``) then submitted_at, late_by, penalty (points) and
    raw_score (score = raw_score - penalty), after the tests so their columns keep their places.

    Every cell goes through ``safe_text.for_csv``: no cell starts a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def row(cells):
        writer.writerow([for_csv(c) for c in cells])

    with_late = any("late" in r["extra_data"] for r in results)
    late_columns = ["submitted_at", "late_by", "penalty", "raw_score"] if with_late else []
    row(["student_id", "score", "max_score", *map(_short_name, test_names), *late_columns])
    for result in sorted(results, key=lambda r: str(r["extra_data"]["student_id"])):
        by_name = {t.get("name"): t.get("score", 0.0) for t in result["tests"]}
        late = result["extra_data"].get("late") or {}
        late_cells = [late.get("submitted_at", ""), late.get("late_by", ""),
                      _fmt(late.get("penalty", 0.0)), _fmt(late.get("raw_score",
                                                                     result["score"]))]
        row([result["extra_data"]["student_id"], _fmt(result["score"]),
             _fmt(result["max_score"]), *(_fmt(by_name.get(name, 0.0)) for name in test_names),
             *(late_cells if with_late else [])])
    return buffer.getvalue()


def _fmt(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return "0"


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;padding:.4rem;
text-align:left;vertical-align:top} .passed{color:#176b2c}.failed{color:#a4161a}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;border-radius:4px;margin:0}
.note{background:#fff6d6;padding:.5rem 1rem;border-radius:4px}
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
            f"{for_html(title)}</title><style>{_STYLE}</style></head><body>{body}"
            f"</body></html>\n")


def feedback_html(result: dict) -> str:
    """The student's page: per test passed/failed, and on failure what was expected and got.

    Every string is escaped with invisible characters shown (``safe_text.for_html``)."""
    extra = result["extra_data"]
    rows = []
    for test in result["tests"]:
        status = "passed" if test.get("status") == "passed" else "failed"
        message = for_html(test.get("output") or "")
        details = f"<pre>{message}</pre>" if message else ""
        rows.append(f"<tr><td>{for_html(_short_name(str(test.get('name', ''))))}</td>"
                    f"<td class='{status}'>{status}</td>"
                    f"<td>{_fmt(test.get('score'))} / {_fmt(test.get('max_score'))}</td>"
                    f"<td>{details}</td></tr>")
    notes = ""
    if result.get("output"):
        notes = f"<h2>Notes</h2><div class='note'><pre>{for_html(result['output'])}</pre></div>"
    printed = ""
    if extra.get("printed"):
        printed = ("<h2>What your code printed</h2><p>Shown for debugging only; printed text "
                   f"is never used for grading.</p><pre>{for_html(extra['printed'])}</pre>")
    original = ""
    if extra.get("original_name") not in (None, extra.get("student_id")):
        original = f" (submitted as <code>{for_html(extra['original_name'])}</code>)"
    body = (f"<h1>{for_html(extra.get('assignment', ''))}: feedback for "
            f"{for_html(extra.get('student_id', ''))}</h1>"
            f"<p><strong>Score: {_fmt(result['score'])} / {_fmt(result['max_score'])}</strong>"
            f"{original} &middot; graded in {_fmt(result.get('execution_time'))} s "
            f"&middot; seed {for_html(extra.get('seed', ''))}</p>"
            + (f"<p>{for_html((extra.get('late') or {}).get('summary', ''))}</p>"
               if isinstance(extra.get("late"), dict) else "")
            + "<p>The hidden tests use inputs generated for you; on failure the message says "
            "what was expected and what your code returned.</p>"
            f"<table><tr><th>test</th><th>result</th><th>points</th><th>details</th></tr>"
            f"{''.join(rows)}</table>{notes}{printed}")
    return _page(f"Feedback {extra.get('student_id', '')}", body)


def _feedback_href(student_id: str) -> str:
    path = f"{STUDENTS_DIR}/{safe_dirname(str(student_id))}/feedback.html"
    return html.escape(urllib.parse.quote(path))


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def summary_html(results: list[dict], test_names: list[str], assignment: str,
                 max_score: float, run_info: dict, similarity=None) -> str:
    """Instructor summary: score histogram and pass rate per test (PNG pictures), table.

    ``similarity``: an ``autograder.similarity.Report`` (or None); its ranked pairs become a
    "Similar submissions" section after the table (a signal to look, never a score)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    scores = [r["score"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(scores, bins=min(20, max(5, int(max_score) + 1)), range=(0, max_score),
            color="#4c72b0", edgecolor="white")
    ax.set_xlabel("score (points)")
    ax.set_ylabel("number of students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{assignment}: score distribution (n = {len(results)})")
    histogram = _png(fig)
    plt.close(fig)

    rates = []
    for name in test_names:
        passed = sum(1 for r in results for t in r["tests"]
                     if t["name"] == name and t["status"] == "passed")
        rates.append(passed / len(results) if results else 0.0)
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(test_names) + 1.2))
    labels = [_short_name(n) for n in test_names]
    ax.barh(labels[::-1], [100 * r for r in rates[::-1]], color="#55a868")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students passing the test (%)")
    ax.set_ylabel("hidden test")
    ax.set_title("pass rate per test")
    bars = _png(fig)
    plt.close(fig)

    mean = sum(scores) / len(scores) if scores else 0.0
    full = sum(1 for s in scores if s >= max_score)
    zero = sum(1 for s in scores if s == 0)
    lost = sorted({x for r in results for x in r["extra_data"].get("sandbox_lost", [])})
    warning = ("<div class='note'><strong>Sandbox weakened.</strong> Protections lost: "
               + for_html("; ".join(map(str, lost))) + "</div>") if lost else ""
    rows = "".join(
        f"<tr><td>{for_html(r['extra_data']['student_id'])}</td>"
        f"<td>{_fmt(r['score'])}</td><td>{_fmt(r.get('execution_time'))}</td>"
        f"<td><a href='{_feedback_href(r['extra_data']['student_id'])}'>feedback</a></td></tr>"
        for r in sorted(results, key=lambda r: str(r["extra_data"]["student_id"])))
    info = " &middot; ".join(f"{for_html(k)}: {for_html(v)}" for k, v in run_info.items())
    body = (f"<h1>{for_html(assignment)}: grading summary</h1><p>{info}</p>{warning}"
            f"<p>{len(results)} submissions &middot; mean {mean:.2f} / {_fmt(max_score)} "
            f"&middot; full marks {full} &middot; zero {zero}</p>"
            f"<img alt='score histogram' src='data:image/png;base64,{histogram}'>"
            f"<img alt='pass rate per test' src='data:image/png;base64,{bars}'>"
            "<h2>Students</h2><table><tr><th>student</th><th>score</th><th>seconds</th>"
            f"<th></th></tr>{rows}</table>")
    if similarity is not None:
        body += similarity.html_section()
    return _page(f"{assignment} summary", body)
