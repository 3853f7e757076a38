"""Late work: submission times, a due date with extensions, and a penalty policy.

    policy = load_policy(Path("late.toml"))          # ValueError with a message in words
    info = late_info(policy, student_id, when)       # when: submission_time(submission)
    result = apply_late(result, info)                # score = raw score minus the penalty
    results, line = update_results(out, submissions, results, policy)   # what `grade` calls

The config file (TOML, read with ``tomllib``; the instructor's, trusted but checked)::

    due = 2026-12-01T23:59:00+01:00        # a TOML date-time WITH its UTC offset
    policy = "per_day"                     # "none" | "per_day" | "zero_after"
    percent_per_day = 10                   # per_day: percent of the raw score per started day
    max_percent = 50                       # per_day: the cap (default 100)
    cutoff = "7 days"                      # optional: later than due + cutoff scores 0
    unknown_time = "on_time"               # or "late": a submission without a readable time

    [extensions]                           # per student id: a duration or a new due date
    alice = "2 days"
    bob = 2026-12-05T12:00:00+01:00

Policies (like nbgrader's LateSubmissionPlugin): ``none`` records lateness but deducts
nothing; ``per_day`` deducts ``percent_per_day`` of the raw score for every started day
(24 h) after the student's due date, at most ``max_percent``; ``zero_after`` deducts nothing
up to the cut-off (``cutoff`` after the due date, default 0: any lateness) and gives 0 after
it. ``cutoff`` also applies to ``per_day``. Durations are "<n> days", "<n> hours" or
"<n> minutes" (and combinations such as "1 day 6 hours").

Submission times (``submission_time``): nbgrader's ``timestamp.txt`` next to the notebook
(written by nbgrader at submission, e.g. ``2026-11-30 17:02:11.123456 UTC``; at most 256
bytes, strict format, offsets UTC/GMT/Z/+HH:MM; no zone means UTC as in nbgrader), else for a
zip submission the newest member's date in the zip (WEAKER: set by the student's computer,
no time zone; read as the due date's UTC offset). A time that is missing or unreadable gets a
message in words and counts as ``unknown_time`` says (default on time).

Penalties are recomputed from the tests' scores on every run, so a changed config regrades
nothing and a run without ``--late`` restores the raw score.
"""

from __future__ import annotations

import math
import os
import re
import struct
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from autograder import limits
from autograder.safe_files import read_regular_file

MAX_CONFIG_BYTES = 1024 * 1024
MAX_TIMESTAMP_BYTES = 256
POLICIES = ("none", "per_day", "zero_after")
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(days?|d|hours?|h|minutes?|min|m)\s*,?", re.I)
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "min": "minutes"}
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
    r"(?: ?(UTC|GMT|Z|[+-]\d{2}:?\d{2}))?")


@dataclass(frozen=True)
class SubmittedAt:
    """When a submission was made, as far as the grader can tell.

    - when: aware datetime, or None when unknown.
    - source: "timestamp.txt", "zip date" or "" (unknown).
    - message: words for the feedback when the time is weak or unknown ("" otherwise).
    """

    when: datetime | None
    source: str = ""
    message: str = ""


@dataclass(frozen=True)
class LatePolicy:
    """A parsed late.toml (see the module docstring)."""

    due: datetime
    policy: str = "none"
    percent_per_day: float = 0.0
    max_percent: float = 100.0
    cutoff: timedelta | None = None
    unknown_time: str = "on_time"
    extensions: dict = field(default_factory=dict)   # student id -> timedelta or datetime

    def due_for(self, student_id: str) -> datetime:
        """The student's own due date (the extension applied)."""
        extension = self.extensions.get(student_id)
        if isinstance(extension, datetime):
            return extension
        if isinstance(extension, timedelta):
            return self.due + extension
        return self.due


def parse_duration(text: str, what: str) -> timedelta:
    """ "2 days", "36 hours", "1 day 6 hours", "90 minutes" -> timedelta (ValueError else)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what}: expected a duration such as \"2 days\", got {text!r}")
    total, position = timedelta(), 0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        unit = match.group(2).lower()
        unit = _UNITS.get(unit, unit if unit.endswith("s") else unit + "s")
        total += timedelta(**{unit: float(match.group(1))})
        position = match.end()
    if position != len(text) or position == 0:
        raise ValueError(f"{what}: expected a duration such as \"2 days\" or \"36 hours\", "
                         f"got {text!r}")
    return total


def _aware(value, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{what} must be a TOML date-time with its UTC offset, such as "
                         f"2026-12-01T23:59:00+01:00 (got {value!r})")
    return value


def _number(config: dict, key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not \
            0 <= value <= 100 or math.isnan(value):
        raise ValueError(f"{key} must be a number from 0 to 100 (got {value!r})")
    return float(value)


def load_policy(path: Path) -> LatePolicy:
    """Parse the late-work config file. Raises ValueError with a message in words."""
    try:
        raw = read_regular_file(Path(path), MAX_CONFIG_BYTES)
        config = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error})") from None
    known = {"due", "policy", "percent_per_day", "max_percent", "cutoff", "unknown_time",
             "extensions"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: "
                         f"{', '.join(sorted(known))})")
    if "due" not in config:
        raise ValueError(f"{path}: `due` is missing (e.g. due = 2026-12-01T23:59:00+01:00)")
    policy = config.get("policy", "none")
    if policy not in POLICIES:
        raise ValueError(f"{path}: policy must be one of {', '.join(POLICIES)} (got {policy!r})")
    unknown_time = config.get("unknown_time", "on_time")
    if unknown_time not in ("on_time", "late"):
        raise ValueError(f"{path}: unknown_time must be \"on_time\" or \"late\"")
    if policy == "per_day" and "percent_per_day" not in config:
        raise ValueError(f"{path}: policy \"per_day\" needs percent_per_day")
    cutoff = parse_duration(config["cutoff"], "cutoff") if "cutoff" in config else None
    if policy == "zero_after" and cutoff is None:
        cutoff = timedelta()
    extensions = {}
    table = config.get("extensions", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [extensions] must be a table of student = \"2 days\"")
    for student, value in table.items():
        what = f"extension for {student!r}"
        extensions[student] = (_aware(value, what) if isinstance(value, datetime)
                               else parse_duration(value, what))
    return LatePolicy(_aware(config["due"], "due"), policy,
                      _number(config, "percent_per_day", 0.0),
                      _number(config, "max_percent", 100.0), cutoff, unknown_time, extensions)


def parse_timestamp(text: str) -> datetime:
    """nbgrader's timestamp text -> aware datetime (ValueError with words when it is not)."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError("it is not a date and time like `2026-11-30 17:02:11.123456 UTC`")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or "0").ljust(6, "0"))
    zone = match.group(8)
    if zone in (None, "UTC", "GMT", "Z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = _offset(sign * (int(digits[:2]) * 60 + int(digits[2:])))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as error:
        raise ValueError(f"it is not a valid date and time ({error})") from None


def _offset(minutes: int):
    from datetime import timezone
    if abs(minutes) >= 24 * 60:
        raise ValueError("its UTC offset is out of range")
    return timezone(timedelta(minutes=minutes))


def read_timestamp_file(path: Path, root: Path | None) -> SubmittedAt:
    """nbgrader's timestamp.txt (no link followed below ``root``, at most 256 bytes)."""
    if not os.path.lexists(path):
        return SubmittedAt(None, "", "no submission time is known (nbgrader's "
                                     "timestamp.txt is missing)")
    try:
        raw = read_regular_file(path, MAX_TIMESTAMP_BYTES, below=root)
        when = parse_timestamp(raw.decode("ascii"))
    except UnicodeDecodeError:
        return SubmittedAt(None, "", "the submission time could not be read "
                                     "(timestamp.txt is not plain text)")
    except (ValueError, OSError) as error:
        why = getattr(error, "strerror", None) or str(error)
        return SubmittedAt(None, "", f"the submission time could not be read "
                                     f"(timestamp.txt: {why})")
    return SubmittedAt(when, "timestamp.txt")


def _zip_dates(raw: bytes) -> list[tuple[int, ...]]:
    """(Y, M, D, h, m, s) of every file in a zip's central directory, read by hand with
    bounds (at most ``limits.MAX_ZIP_MEMBERS`` entries; nothing is decompressed). Raises
    ValueError when the directory is not where its end record says."""
    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - 65_557))
    if end < 0 or end + 22 > len(raw):
        raise ValueError("no zip end record")
    count, size = struct.unpack("<HI", raw[end + 10:end + 16])
    if count > limits.MAX_ZIP_MEMBERS or size > end:
        raise ValueError("too many members")
    position, dates = end - size, []
    for _ in range(count):
        header = raw[position:position + 46]
        if len(header) < 46 or header[:4] != b"PK\x01\x02":
            raise ValueError("broken central directory")
        time, date = struct.unpack("<HH", header[12:16])
        name_len, extra_len, comment_len = struct.unpack("<HHH", header[28:34])
        name = raw[position + 46:position + 46 + name_len]
        position += 46 + name_len + extra_len + comment_len
        if not name.endswith(b"/"):
            dates.append((1980 + (date >> 9), (date >> 5) & 0xF, date & 0x1F, time >> 11,
                          (time >> 5) & 0x3F, (time & 0x1F) * 2))
    return dates


def zip_time(raw: bytes, tz) -> SubmittedAt:
    """The newest file date in a zip, read in time zone ``tz`` (zip dates have none)."""
    weak = ("from the newest file date inside the zip, which the student's computer sets "
            "and which has no time zone (a weaker record than nbgrader's timestamp)")
    when = []
    try:
        for fields in _zip_dates(raw):
            try:
                when.append(datetime(*fields, tzinfo=tz))
            except ValueError:
                continue  # an impossible date (month 0...) says nothing
    except (ValueError, struct.error):
        when = []
    if not when:
        return SubmittedAt(None, "", "the submission time could not be read from the zip")
    return SubmittedAt(max(when), "zip date", f"the submission time comes {weak}")


def submission_time(submission, tz) -> SubmittedAt:
    """When ``submission`` (autograder.submissions.Submission) was made; never raises for
    anything in the submitted files. ``tz``: the zone for zip dates (the due date's)."""
    path = submission.timestamp_path()
    if path is not None:
        return read_timestamp_file(path, submission.root)
    if submission.kind == "zip":
        try:
            return zip_time(submission.read_raw(), tz)
        except (ValueError, OSError):
            return SubmittedAt(None, "", "the submission time could not be read from the zip")
    return SubmittedAt(None, "", "no submission time is known (not submitted through "
                                 "nbgrader and not a zip)")


def words(delta: timedelta) -> str:
    """A positive duration in words: "1 day, 2 hours and 5 minutes" (seconds rounded up)."""
    minutes = math.ceil(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}"
             for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    if not parts:
        return "0 minutes"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def penalty_percent(policy: LatePolicy, late_by: timedelta) -> float:
    """Percent of the raw score deducted for ``late_by`` (positive) under ``policy``."""
    if policy.cutoff is not None and late_by > policy.cutoff:
        return 100.0
    if policy.policy == "per_day":
        days = math.ceil(late_by.total_seconds() / 86_400)
        return min(policy.max_percent, days * policy.percent_per_day)
    return 0.0


def late_info(policy: LatePolicy, student_id: str, submitted: SubmittedAt) -> dict:
    """extra_data.late for one student (before the score is known: see apply_late).

    Keys: submitted_at (ISO text or ""), time_source, due (ISO), extension (bool), late
    (bool), late_by (words, "unknown" or ""), late_seconds, penalty_percent, policy, rule
    (the policy in words), message (words about the time's source, or "")."""
    due = policy.due_for(student_id)
    info = {"submitted_at": "", "time_source": submitted.source, "due": due.isoformat(),
            "extension": student_id in policy.extensions, "late": False, "late_by": "",
            "late_seconds": 0, "penalty_percent": 0.0, "policy": policy.policy,
            "rule": describe_policy(policy), "message": submitted.message}
    if submitted.when is None:
        if policy.unknown_time == "late":
            info.update(late=True, late_by="unknown", penalty_percent=penalty_percent(
                policy, timedelta(days=36_500)))
        return info
    info["submitted_at"] = submitted.when.isoformat()
    late_by = submitted.when - due
    if late_by > timedelta():
        info.update(late=True, late_by=words(late_by),
                    late_seconds=int(late_by.total_seconds()),
                    penalty_percent=penalty_percent(policy, late_by))
    return info


def describe_policy(policy: LatePolicy) -> str:
    """The penalty rule in words, e.g. "10% of the score per started day late, at most 30%;
    0 points when more than 7 days late"."""
    if policy.policy == "per_day":
        rule = (f"{policy.percent_per_day:g}% of the score per started day late, at most "
                f"{policy.max_percent:g}%")
    elif policy.policy == "zero_after":
        rule = "no deduction up to the cut-off"
    else:
        rule = "no deduction for late work"
    if policy.cutoff is not None:
        rule += ("; 0 points for any lateness" if not policy.cutoff
                 else f"; 0 points when more than {words(policy.cutoff)} late")
    return rule


def _moment(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M %Z")


def _sentence(info: dict, raw: float, penalty: float) -> str:
    """The feedback page's sentence about the submission time and the penalty."""
    due = f"due {_moment(info['due'])}" + (", with your extension" if info["extension"] else "")
    note = f" Note: {info['message']}." if info.get("message") else ""
    if not info["late"]:
        when = (f"arrived {_moment(info['submitted_at'])}, on time" if info["submitted_at"]
                else "has no known submission time and counts as on time")
        return f"Your submission {when} ({due}).{note}"
    when = ("has no known submission time and counts as late" if not info["submitted_at"]
            else f"arrived {_moment(info['submitted_at'])}, {info['late_by']} late")
    cost = (f"deducts {info['penalty_percent']:g}% of your score ({raw:.4g} - {penalty:.4g} = "
            f"{round(raw - penalty, 6):.4g} points)" if penalty > 0 else "deducts nothing")
    return f"Your submission {when} ({due}); the late policy ({info['rule']}) {cost}.{note}"


def apply_late(result: dict, info: dict | None) -> dict:
    """``result`` (results.json data) with its score recomputed from the tests' scores and
    the penalty in ``info`` applied (None: no late policy, the raw score). Idempotent."""
    result = {**result, "extra_data": dict(result["extra_data"])}
    raw = round(sum(float(t.get("score", 0.0)) for t in result["tests"]), 6)
    result["extra_data"].pop("late", None)
    if info is None:
        result["score"] = raw
        return result
    penalty = round(raw * info["penalty_percent"] / 100, 6)
    result["score"] = round(raw - penalty, 6)
    result["extra_data"]["late"] = {**info, "raw_score": raw, "penalty": penalty,
                                    "summary": _sentence(info, raw, penalty)}
    return result


def update_results(out_dir: Path, submissions: list, results: list[dict],
                   policy: LatePolicy | None) -> tuple[list[dict], dict]:
    """Apply ``policy`` (None: none) to every student's results, rewriting the results.json
    and feedback.html files whose content changes. Regrades nothing.

    Inputs: the output folder, the run's Submissions and their results (same order).
    Returns (the new results, one line for run.json and the terminal: the policy, how many
    are late, the ids whose time is unknown; "" without a policy)."""
    from autograder.reports import write_student

    updated, unknown, late = [], [], 0
    for submission, result in zip(submissions, results, strict=True):
        info = None
        if policy is not None:
            info = late_info(policy, submission.student_id,
                             submission_time(submission, policy.due.tzinfo))
            late += info["late"]
            if not info["submitted_at"]:
                unknown.append(submission.student_id)
        new = apply_late(result, info)
        if new != result:
            write_student(out_dir, new)
        updated.append(new)
    if policy is None:
        return updated, ""
    summary = f"policy {policy.policy}, due {policy.due.isoformat()}: {late} late"
    if unknown:
        summary += (f"; {len(unknown)} without a known submission time, counted as "
                    f"{policy.unknown_time.replace('_', ' ')}: {', '.join(unknown[:20])}"
                    + (" ..." if len(unknown) > 20 else ""))
    return updated, summary
