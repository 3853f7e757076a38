"""The suite runner: import each hidden suite once, call its test functions with our fixtures.

pytest's start-up and collection cost more than grading one submission, so the grader imports
each suite module once per grading process and calls the test functions itself. Suites stay
plain pytest files (``autograder/suites/conftest.py`` gives real pytest the same fixtures), so
what a suite may use is exactly what both ways of running it agree on:

- module-level functions named ``test_*``, each with ``@pytest.mark.points(n)`` (n > 0);
- arguments only from the fixtures ``student``, ``reference``, ``rng``, ``partial``
  (no defaults, no ``*args``); no other pytest feature: no parametrize, no module fixtures,
  no skip/xfail marks, no test classes. Cases are loops inside a test, one
  ``partial.part(...)`` each.

Anything else is a ``GraderError`` when the suite is loaded, naming the test and the reason,
instead of a test that would run differently here and under pytest. Marks are read from
``fn.pytestmark`` (pytest's public attribute); no private pytest API is used.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import GraderError
from autograder.fixtures import Partial, describe_failure, test_rng

FIXTURES = ("student", "reference", "rng", "partial")


@dataclass
class SuiteTest:
    """One test of a suite."""

    name: str                 # "test_knn.py::test_predict_labels" (also the rng key)
    function: object
    points: float
    arguments: tuple[str, ...] = ()   # the fixtures it asks for, in order


@dataclass
class TestOutcome:
    name: str
    score: float
    max_score: float
    status: str               # "passed" | "failed"
    output: str = ""
    seconds: float = 0.0
    parts: list = field(default_factory=list)


TestOutcome.__test__ = False
SuiteTest.__test__ = False


def _marks(obj) -> list:
    marks = getattr(obj, "pytestmark", [])
    return list(marks) if isinstance(marks, list | tuple) else [marks]


def _points(marks: list, name: str) -> float:
    found = [m for m in marks if getattr(m, "name", None) == "points"]
    if len(found) != 1:
        raise GraderError(f"{name}: needs exactly one @pytest.mark.points(n), found "
                          f"{len(found)}")
    mark = found[0]
    value = mark.args[0] if len(mark.args) == 1 and not mark.kwargs else \
        mark.kwargs.get("n") if not mark.args and set(mark.kwargs) == {"n"} else None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or value <= 0:
        raise GraderError(f"{name}: @pytest.mark.points needs one positive number, got "
                          f"args={mark.args!r} kwargs={mark.kwargs!r}")
    return float(value)


def check_test_function(fn, name: str) -> tuple[float, tuple[str, ...]]:
    """Validate one suite test; returns (points, fixture names). Raises GraderError."""
    marks = _marks(fn)
    other = sorted({getattr(m, "name", "?") for m in marks} - {"points"})
    if other:
        raise GraderError(f"{name}: only @pytest.mark.points is supported, found "
                          f"{', '.join('@pytest.mark.' + o for o in other)} (loop over cases "
                          "inside the test, one partial.part each)")
    points = _points(marks, name)
    arguments = []
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY) \
                or parameter.default is not parameter.empty or parameter.name not in FIXTURES:
            raise GraderError(f"{name}: argument {parameter.name!r} is not one of the "
                              f"fixtures {', '.join(FIXTURES)} (no defaults, no *args)")
        arguments.append(parameter.name)
    if inspect.iscoroutinefunction(fn) or inspect.isgeneratorfunction(fn):
        raise GraderError(f"{name}: a test must be a plain function")
    return points, tuple(arguments)


def module_tests(module, filename: str) -> list[SuiteTest]:
    """The tests of one imported suite module, validated (see the module docstring).

    Shared with ``autograder/suites/conftest.py``, so pytest refuses the same suites.
    """
    if _marks(module):
        raise GraderError(f"{filename}: module-level pytestmark is not supported; put "
                          "@pytest.mark.points(n) on each test")
    tests = []
    for attr, value in vars(module).items():
        if attr.startswith("Test") and inspect.isclass(value):
            raise GraderError(f"{filename}::{attr}: test classes are not supported; write "
                              "module-level test_* functions")
        if not attr.startswith("test_") or getattr(value, "__test__", True) is False:
            continue
        if not inspect.isfunction(value):
            raise GraderError(f"{filename}::{attr}: is not a function (pytest fixtures and "
                              "other objects named test_* are not supported)")
        name = f"{filename}::{attr}"
        points, arguments = check_test_function(value, name)
        tests.append(SuiteTest(name, value, points, arguments))
    return tests


def load_suite(suite_dir: Path) -> list[SuiteTest]:
    """Import every ``test_*.py`` of a suite folder; return its tests in file order.

    Raises GraderError when there is none, when a module fails to import, or when a test
    breaks the rules in the module docstring.
    """
    suite_dir = Path(suite_dir)
    files = sorted(suite_dir.glob("test_*.py"))
    if not files:
        raise GraderError(f"no hidden suite found in {suite_dir}")
    tests: list[SuiteTest] = []
    sys.path.insert(0, str(suite_dir))
    try:
        for path in files:
            module_name = f"_autograder_suite_{suite_dir.name}_{path.stem}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as error:
                raise GraderError(f"the suite file {path.name} failed to import: {error!r}"
                                  ) from error
            tests += module_tests(module, path.name)
    finally:
        sys.path.remove(str(suite_dir))
    if not tests:
        raise GraderError(f"the suite in {suite_dir} has no test_* functions")
    return tests


def max_score(tests: list[SuiteTest]) -> float:
    return sum(t.points for t in tests)


def run_test(test: SuiteTest, student, reference, seed: int) -> TestOutcome:
    """Run one test with fresh fixtures; every failure becomes a scored, explained outcome."""
    partial = Partial()
    fixtures = {"student": student, "reference": reference, "partial": partial,
                "rng": test_rng(seed, test.name)}
    start = time.perf_counter()
    escaped = None
    try:
        test.function(**{name: fixtures[name] for name in test.arguments})
    except GraderError:
        raise
    except Exception as error:  # noqa: BLE001 - scored below
        escaped = error
    seconds = time.perf_counter() - start
    parts = [vars(p) for p in partial.parts]
    if partial.used:
        fraction = partial.fraction(extra_failed=1 if escaped else 0)
        messages = [f"{p.name}: {p.message}" for p in partial.failures()]
        if escaped is not None:
            messages.append(describe_failure(escaped))
        status = "passed" if fraction == 1.0 else "failed"
        return TestOutcome(test.name, round(test.points * fraction, 6), test.points, status,
                           "\n".join(messages), seconds, parts)
    if escaped is None:
        return TestOutcome(test.name, test.points, test.points, "passed", "", seconds)
    return TestOutcome(test.name, 0.0, test.points, "failed", describe_failure(escaped),
                       seconds)
