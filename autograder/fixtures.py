"""The fixtures hidden suites may ask for, shared by the mini-runner and the pytest conftest.

- ``student_seed(global_seed, student_id)``: the per-student seed recorded in the results.
- ``test_rng(seed, test_name)``: the ``rng`` fixture (a numpy Generator).
- ``Partial``: the ``partial`` fixture, ``with partial.part("k=1"): ...``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from autograder.errors import StudentError


def _digest_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def student_seed(global_seed: int, student_id: str) -> int:
    """A 63-bit seed from the run's seed and the student id (same inputs -> same seed)."""
    return _digest_int(f"{int(global_seed)}:{student_id}") >> 1


def test_rng(seed: int, test_name: str) -> np.random.Generator:
    """The ``rng`` fixture: seeded from the student's seed and the test's name."""
    return np.random.default_rng([int(seed), _digest_int(test_name)])


test_rng.__test__ = False  # not a pytest test, despite the name


@dataclass
class PartResult:
    name: str
    passed: bool
    message: str = ""


def describe_failure(error: BaseException) -> str:
    """A student-facing sentence for an exception raised while checking a test or part."""
    if isinstance(error, AssertionError):
        return str(error) or "a hidden check failed"
    if isinstance(error, StudentError):
        if error.type_name in ("Timeout", "WorkerCrashed", "BadReply", "MissingDefinition",
                               "WorkerRestarted"):
            return error.message
        if error.type_name == "MemoryError":
            return ("your code raised MemoryError: it needed more memory than a submission "
                    f"may use {error.message}".rstrip())
        return f"your code raised {error.type_name}: {error.message}"
    return (f"your result could not be checked ({type(error).__name__}: "
            f"{str(error)[:300]})")


class Partial:
    """Partial credit: each ``part`` passes or fails on its own; the test scores
    points * passed_parts / parts. Failures inside a part do not stop the test."""

    def __init__(self):
        self.parts: list[PartResult] = []

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        try:
            yield
        except Exception as error:  # noqa: BLE001 - every failure is scored and explained
            self.parts.append(PartResult(name, False, describe_failure(error)))
        else:
            self.parts.append(PartResult(name, True))

    @property
    def used(self) -> bool:
        return bool(self.parts)

    def fraction(self, extra_failed: int = 0) -> float:
        total = len(self.parts) + extra_failed
        return sum(p.passed for p in self.parts) / total if total else 0.0

    def failures(self) -> list[PartResult]:
        return [p for p in self.parts if not p.passed]
