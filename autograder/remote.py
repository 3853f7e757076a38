"""Grading jobs that run in pool processes or Dask workers (one cached Grader per thread).

A job carries the submitted file's *bytes* (notebook or zip), not a path, so a Dask worker
on another machine needs only the course installed (suites and solutions), not the
submissions folder.
"""

from __future__ import annotations

import atexit
import itertools
import json
import threading
from dataclasses import dataclass, fields
from pathlib import Path

from autograder.grading import COURSE_ROOT, Assignment, Grader
from autograder.sandbox import SandboxSettings

_local = threading.local()
_all_graders: list[Grader] = []
_slots = itertools.count()  # one sandbox slot (and uid) per Grader in this process


@dataclass(frozen=True)
class GradeConfig:
    """Everything a grading process needs to build its Grader (picklable, hashable)."""

    assignment: str
    course_root: str
    settings_json: str

    @classmethod
    def make(cls, assignment: str, course_root: Path, settings: SandboxSettings) -> GradeConfig:
        data = {f.name: getattr(settings, f.name) for f in fields(settings)}
        return cls(assignment, str(course_root), json.dumps(data, sort_keys=True))

    def settings(self) -> SandboxSettings:
        return SandboxSettings(**json.loads(self.settings_json))

    def build(self, slot: int = 0) -> Grader:
        root = Path(self.course_root)
        if not (root / "solutions").is_dir():
            root = COURSE_ROOT  # a Dask worker elsewhere: its own installed copy of the course
        return Grader(Assignment.find(self.assignment, root), self.settings(), slot)


def grader_for(config: GradeConfig) -> Grader:
    """This thread's Grader for ``config`` (built on first use, then reused)."""
    cache = getattr(_local, "graders", None)
    if cache is None:
        cache = _local.graders = {}
    if config not in cache:
        cache[config] = config.build(slot=next(_slots))
        _all_graders.append(cache[config])
    return cache[config]


def grade_job(config: GradeConfig, student_id: str, raw: bytes | None, source: str,
              global_seed: int, read_problem: str | None, kind: str = "notebook",
              original_name: str | None = None) -> dict:
    """Grade one submitted file (notebook or zip bytes) in this process; returns the
    results.json data. Nothing the file holds makes this raise (GraderError aside)."""
    return grader_for(config).grade_bytes(student_id, raw, source, global_seed, read_problem,
                                          kind=kind, original_name=original_name)


@atexit.register
def _close_all() -> None:
    for grader in _all_graders:
        try:
            grader.close()
        except Exception:
            pass
