"""Late work: timestamps, due dates with extensions, penalty policies, `grade --late`."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import ROOT
from helpers.crafting import EXAMPLES

from autograder import late
from autograder.submissions import Submission, discover

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
CET = timezone(timedelta(hours=1))
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=CET)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def policy(tmp_path: Path, body: str) -> late.LatePolicy:
    return late.load_policy(write(tmp_path / "late.toml",
                                  "due = 2026-12-01T23:59:00+01:00\n" + body))


@pytest.mark.parametrize("text, expected", [
    ("2026-11-30 17:02:11.123456 UTC", datetime(2026, 11, 30, 17, 2, 11, 123456, tzinfo=UTC)),
    ("2026-11-30 17:02:11 UTC\n", datetime(2026, 11, 30, 17, 2, 11, tzinfo=UTC)),
    ("2026-11-30 17:02:11.5", datetime(2026, 11, 30, 17, 2, 11, 500000, tzinfo=UTC)),
    ("2026-11-30T18:02:11+01:00", datetime(2026, 11, 30, 17, 2, 11, tzinfo=UTC)),
    ("2026-11-30 18:02:11 +0100", datetime(2026, 11, 30, 17, 2, 11, tzinfo=UTC)),
])
def test_nbgrader_timestamps_are_parsed(text, expected):
    assert late.parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-11-30 17:02:11 CET",
                                  "2026-13-01 00:00:00 UTC", "2026-11-30 25:00:00 UTC",
                                  "2026-11-30 17:02:11 UTC extra", "2026-11-30",
                                  "2026-11-30 17:02:11 +2400"])
def test_bad_timestamps_are_refused_in_words(text):
    with pytest.raises(ValueError, match="date and time|offset"):
        late.parse_timestamp(text)


def test_timestamp_file_defensive_reading(tmp_path):
    root = tmp_path / "submitted"
    folder = root / "ann" / "01_knn"
    folder.mkdir(parents=True)
    stamp = folder / "timestamp.txt"
    assert "missing" in late.read_timestamp_file(stamp, root).message
    write(stamp, "2026-11-30 17:02:11.123456 UTC")
    got = late.read_timestamp_file(stamp, root)
    assert got.when == datetime(2026, 11, 30, 17, 2, 11, 123456, tzinfo=UTC)
    assert got.source == "timestamp.txt" and got.message == ""
    write(stamp, "2026-11-30 17:02:11 UTC" + " " * 1000)
    too_big = late.read_timestamp_file(stamp, root)
    assert too_big.when is None and "limit" in too_big.message
    stamp.write_bytes(b"\xff\xfe2026")
    assert "not plain text" in late.read_timestamp_file(stamp, root).message
    stamp.unlink()
    stamp.symlink_to(tmp_path / "elsewhere.txt")
    linked = late.read_timestamp_file(stamp, root)
    assert linked.when is None and "symbolic link" in linked.message


def test_durations():
    assert late.parse_duration("2 days", "x") == timedelta(days=2)
    assert late.parse_duration("1 day 6 hours", "x") == timedelta(days=1, hours=6)
    assert late.parse_duration("90 minutes", "x") == timedelta(minutes=90)
    for bad in ("", "2", "two days", "2 days later", "-1 day"):
        with pytest.raises(ValueError, match="duration"):
            late.parse_duration(bad, "x")
    assert late.words(timedelta(days=1, hours=2, minutes=5)) == "1 day, 2 hours and 5 minutes"
    assert late.words(timedelta(seconds=1)) == "1 minute"


@pytest.mark.parametrize("body, needle", [
    ("policy = \"sometimes\"\n", "policy must be one of"),
    ("policy = \"per_day\"\n", "needs percent_per_day"),
    ("policy = \"per_day\"\npercent_per_day = 150\n", "from 0 to 100"),
    ("dew = 1\n", "unknown setting"),
    ("cutoff = \"soon\"\n", "duration"),
    ("[extensions]\nalice = 2026-12-05T12:00:00\n", "UTC offset"),
    ("unknown_time = \"maybe\"\n", "unknown_time"),
])
def test_bad_configs_are_refused_in_words(tmp_path, body, needle):
    with pytest.raises(ValueError, match=needle):
        policy(tmp_path, body)


def test_config_needs_an_aware_due_date(tmp_path):
    with pytest.raises(ValueError, match="UTC offset"):
        late.load_policy(write(tmp_path / "a.toml", "due = 2026-12-01T23:59:00\n"))
    with pytest.raises(ValueError, match="`due` is missing"):
        late.load_policy(write(tmp_path / "b.toml", "policy = \"none\"\n"))
    with pytest.raises(ValueError, match="not valid TOML"):
        late.load_policy(write(tmp_path / "c.toml", "due = = 3\n"))


def at(delta: timedelta) -> late.SubmittedAt:
    return late.SubmittedAt(DUE + delta, "timestamp.txt")


def test_per_day_penalty_with_cap_and_cutoff(tmp_path):
    rules = policy(tmp_path, "policy = \"per_day\"\npercent_per_day = 10\nmax_percent = 30\n"
                             "cutoff = \"7 days\"\n")
    percent = [late.late_info(rules, "x", at(d))["penalty_percent"] for d in (
        timedelta(0), timedelta(seconds=1), timedelta(days=1), timedelta(days=1, seconds=1),
        timedelta(days=5), timedelta(days=7), timedelta(days=7, seconds=1))]
    assert percent == [0, 10, 10, 20, 30, 30, 100]
    info = late.late_info(rules, "x", at(timedelta(days=1, hours=2)))
    result = late.apply_late({"score": 9.0, "max_score": 14, "extra_data": {},
                              "tests": [{"score": 6.0}, {"score": 4.0}]}, info)
    assert result["score"] == 8.0 and result["extra_data"]["late"]["raw_score"] == 10.0
    assert result["extra_data"]["late"]["penalty"] == 2.0
    assert "1 day and 2 hours late" in result["extra_data"]["late"]["summary"]
    assert "deducts 20%" in result["extra_data"]["late"]["summary"]
    assert late.apply_late(result, None)["score"] == 10.0  # no policy: the raw score again
    assert late.apply_late(result, info) == result          # idempotent


def test_zero_after_and_none_policies(tmp_path):
    zero = policy(tmp_path, "policy = \"zero_after\"\n")
    assert late.late_info(zero, "x", at(timedelta(0)))["penalty_percent"] == 0
    assert late.late_info(zero, "x", at(timedelta(seconds=1)))["penalty_percent"] == 100
    grace = policy(tmp_path, "policy = \"zero_after\"\ncutoff = \"2 hours\"\n")
    assert late.late_info(grace, "x", at(timedelta(hours=2)))["penalty_percent"] == 0
    assert late.late_info(grace, "x", at(timedelta(hours=2, minutes=1)))["penalty_percent"] == 100
    nothing = policy(tmp_path, "")
    info = late.late_info(nothing, "x", at(timedelta(days=30)))
    assert info["late"] and info["penalty_percent"] == 0 and info["late_by"] == "30 days"


def test_extensions_move_the_due_date(tmp_path):
    rules = policy(tmp_path, "policy = \"zero_after\"\n[extensions]\nalice = \"2 days\"\n"
                             "bob = 2026-12-05T12:00:00+01:00\n")
    three_days = at(timedelta(days=3))
    assert late.late_info(rules, "alice", at(timedelta(days=2)))["late"] is False
    assert late.late_info(rules, "alice", three_days)["penalty_percent"] == 100
    assert late.late_info(rules, "bob", three_days)["late"] is False
    assert late.late_info(rules, "carol", three_days)["penalty_percent"] == 100
    summary = late.apply_late({"score": 1, "extra_data": {}, "tests": [{"score": 1}]},
                              late.late_info(rules, "alice", at(timedelta(0))))
    assert "with your extension" in summary["extra_data"]["late"]["summary"]


def test_unknown_time_counts_as_configured(tmp_path):
    unknown = late.SubmittedAt(None, "", "no submission time is known")
    lenient = policy(tmp_path, "policy = \"zero_after\"\n")
    assert late.late_info(lenient, "x", unknown)["penalty_percent"] == 0
    strict = policy(tmp_path, "policy = \"zero_after\"\nunknown_time = \"late\"\n")
    info = late.late_info(strict, "x", unknown)
    assert info["late"] and info["penalty_percent"] == 100 and info["late_by"] == "unknown"


def zip_bytes(*dates) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, date in enumerate(dates):
            archive.writestr(zipfile.ZipInfo(f"f{index}.ipynb", date_time=date), b"{}")
    return buffer.getvalue()


def test_zip_submissions_use_the_newest_member_date_and_say_it_is_weaker(tmp_path):
    (tmp_path / "ann.zip").write_bytes(zip_bytes((2026, 11, 30, 9, 0, 0),
                                                 (2026, 12, 2, 10, 30, 0)))
    (tmp_path / "ben.zip").write_bytes(b"not a zip")
    (tmp_path / "cy.ipynb").write_bytes(b"{}")
    found = {s.student_id: s for s in discover(tmp_path, "01_knn")}
    ann = late.submission_time(found["ann"], CET)
    assert ann.when == datetime(2026, 12, 2, 10, 30, tzinfo=CET)
    assert ann.source == "zip date" and "weaker" in ann.message
    ben = late.submission_time(found["ben"], CET)
    assert ben.when is None and "could not be read" in ben.message
    cy = late.submission_time(found["cy"], CET)
    assert cy.when is None and "no submission time" in cy.message


def test_zip_dates_skip_folders_and_refuse_huge_directories():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("nb/", date_time=(2030, 1, 1, 0, 0, 0)), b"")
        archive.writestr(zipfile.ZipInfo("nb/a.ipynb", date_time=(2026, 12, 1, 8, 0, 58)), b"")
    got = late.zip_time(b"prefix" + buffer.getvalue(), UTC)
    assert got.when == datetime(2026, 12, 1, 8, 0, 58, tzinfo=UTC)
    many = zip_bytes(*[(2026, 12, 1, 8, 0, 0)] * 1001)
    assert late.zip_time(many, UTC).when is None
    assert late.zip_time(zip_bytes((2026, 12, 1, 8, 0, 0))[:-30], UTC).when is None


def test_timestamp_path_only_in_nbgrader_layout(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "submitted")
    for submission in discover(tmp_path, "01_knn"):
        assert submission.timestamp_path() == submission.path.parent / "timestamp.txt"
    assert Submission("x", tmp_path / "x.ipynb").timestamp_path() is None


# ---------------------------------------------------------------- end to end

LATE_TOML = """\
due = 2026-12-01T23:59:00+01:00
policy = "per_day"
percent_per_day = 10
max_percent = 30

[extensions]
untouched_release = "2 days"
"""


def grade(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args),
                           "--no-progress", "--jobs", "1"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=ENV)


def table(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as handle:
        return {r["student_id"]: r for r in csv.DictReader(handle)}


def results(out: Path, student: str) -> dict:
    return json.loads((out / "students" / student / "results.json").read_text())


def nbgrader_tree(tmp_path: Path) -> Path:
    """The bundled examples as nbgrader's submitted/ tree with timestamp.txt files: correct
    on time, partly wrong 1 day 11 hours late (20%), untouched late within its extension."""
    course = tmp_path / "course"
    shutil.copytree(EXAMPLES, course / "submitted")
    stamps = {"correct_student": "2026-11-30 17:02:11.123456 UTC",
              "partly_wrong_student": "2026-12-03 10:00:00.500000 UTC",
              "untouched_release": "2026-12-03 10:00:00 UTC"}
    for student, stamp in stamps.items():
        write(course / "submitted" / student / "01_knn" / "timestamp.txt", stamp + "\n")
    return course


def test_grade_with_late_policy_end_to_end_and_resume(tmp_path):
    course = nbgrader_tree(tmp_path)
    out = tmp_path / "out"
    config = write(tmp_path / "late.toml", LATE_TOML)
    done = grade(course, "--assignment", "01_knn", "--out", out, "--late", config)
    assert done.returncode == 0, done.stderr
    rows = table(out)
    header = list(rows["correct_student"])
    assert header[:3] == ["student_id", "score", "max_score"]
    assert header[-4:] == ["submitted_at", "late_by", "penalty", "raw_score"]
    assert len(header) == 3 + 6 + 4
    correct, wrong, untouched = (rows[s] for s in ("correct_student", "partly_wrong_student",
                                                   "untouched_release"))
    assert correct["score"] == correct["raw_score"] == "14" and correct["late_by"] == ""
    assert correct["submitted_at"] == "2026-11-30T17:02:11.123456+00:00"
    assert wrong["late_by"] == "1 day, 11 hours and 2 minutes"
    raw = results(out, "partly_wrong_student")["extra_data"]["late"]["raw_score"]
    assert 0 < raw < 14 and float(wrong["raw_score"]) == pytest.approx(raw, rel=1e-3)
    assert float(wrong["score"]) == pytest.approx(raw * 0.8, rel=1e-3)
    assert float(wrong["penalty"]) == pytest.approx(raw * 0.2, rel=1e-3)
    assert untouched["late_by"] == "" and untouched["score"] == "0"

    data = results(out, "partly_wrong_student")
    info = data["extra_data"]["late"]
    assert info["late"] and info["penalty_percent"] == 20 and info["time_source"] == "timestamp.txt"
    assert data["score"] == pytest.approx(info["raw_score"] - info["penalty"])
    assert results(out, "untouched_release")["extra_data"]["late"]["extension"] is True
    feedback = (out / "students" / "partly_wrong_student" / "feedback.html").read_text()
    assert "1 day, 11 hours and 2 minutes late" in feedback and "deducts 20%" in feedback
    assert "on time" in (out / "students" / "correct_student" / "feedback.html").read_text()
    assert "late work" in json.loads((out / "run.json").read_text())

    # A changed policy regrades nothing and recomputes the penalty.
    write(config, LATE_TOML.replace("percent_per_day = 10", "percent_per_day = 25"))
    again = grade(course, "--assignment", "01_knn", "--out", out, "--late", config)
    assert again.returncode == 0, again.stderr
    assert "grading the remaining 0" in again.stderr
    assert float(table(out)["partly_wrong_student"]["score"]) == pytest.approx(raw * 0.7,
                                                                               rel=1e-3)
    # Without --late: the raw scores and the original columns again.
    plain = grade(course, "--assignment", "01_knn", "--out", out)
    assert plain.returncode == 0 and "grading the remaining 0" in plain.stderr
    rows = table(out)
    assert len(rows["correct_student"]) == 3 + 6
    assert float(rows["partly_wrong_student"]["score"]) == pytest.approx(raw, rel=1e-3)
    assert "late" not in results(out, "partly_wrong_student")["extra_data"]
    assert "late" not in (out / "students" / "partly_wrong_student" / "feedback.html").read_text()


def test_unreadable_timestamp_and_bad_config_end_to_end(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(EXAMPLES / "correct_student", course / "submitted" / "correct_student")
    write(course / "submitted" / "correct_student" / "01_knn" / "timestamp.txt", "=1+1")
    config = write(tmp_path / "late.toml", 'due = 2026-12-01T23:59:00+01:00\n'
                                           'policy = "zero_after"\nunknown_time = "late"\n')
    out = tmp_path / "out"
    done = grade(course, "--assignment", "01_knn", "--out", out, "--late", config)
    assert done.returncode == 0, done.stderr
    assert "without a known submission time" in done.stderr
    row = table(out)["correct_student"]
    assert row["score"] == "0" and row["raw_score"] == "14" and row["late_by"] == "unknown"
    feedback = (out / "students" / "correct_student" / "feedback.html").read_text()
    assert "could not be read" in feedback and "counts as late" in feedback
    broken = write(tmp_path / "broken.toml", "due = 2026-12-01T23:59:00\n")
    bad = grade(course, "--assignment", "01_knn", "--out", tmp_path / "x", "--late", broken)
    assert bad.returncode == 2 and "UTC offset" in bad.stderr
    assert not (tmp_path / "x").exists()  # refused before any grading
