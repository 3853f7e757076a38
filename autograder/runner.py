"""A mini-runner for hidden suites: import once, call test functions with our fixtures.

pytest's start-up and collection cost more than grading one submission, so the grader imports
each suite module once per grading process, expands ``@pytest.mark.parametrize``, reads
``@pytest.mark.points``, and calls the test functions itself. Suites remain plain pytest files
(``autograder/suites/conftest.py`` provides the same fixtures to real pytest).

Supported: module-level ``test_*`` functions; the fixtures ``student``, ``reference``, ``rng``,
``partial``; function-scoped module fixtures (``@pytest.fixture`` without yield or with one
yield) that depend on those; ``parametrize`` (stacked, with ``ids`` and ``pytest.param``);
``points``; ``pytestmark`` at module level.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.errors import GraderError
from autograder.fixtures import Partial, describe_failure, test_rng

BUILTIN_FIXTURES = ("student", "reference", "rng", "partial")


@dataclass
class SuiteTest:
    """One collected test (a function with one set of parameters)."""

    name: str                 # "test_knn.py::test_predict[k=1]" (also the rng key)
    function: object
    params: dict
    points: float
    fixtures: dict            # module fixtures available to this test, by name


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


def _idval(value, argname: str, index: int) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return str(value)
    return f"{argname}{index}"


def _expand_parametrize(mark) -> list[tuple[str, dict, list]]:
    """[(id, {argname: value}, marks)] for one parametrize mark."""
    argnames, argvalues = mark.args[0], list(mark.args[1])
    ids = mark.kwargs.get("ids")
    if isinstance(argnames, str):
        argnames = [a.strip() for a in argnames.split(",") if a.strip()]
    out = []
    for index, raw in enumerate(argvalues):
        param_id, marks = None, []
        if isinstance(raw, type(pytest.param(0))):
            param_id, marks, raw = raw.id, list(raw.marks), raw.values
            values = list(raw)
        else:
            values = list(raw) if len(argnames) > 1 else [raw]
        if len(values) != len(argnames):
            raise GraderError(f"parametrize {argnames}: value {index} has the wrong length")
        if param_id is None and ids is not None:
            param_id = ids(raw) if callable(ids) else str(list(ids)[index])
        if param_id is None:
            param_id = "-".join(_idval(v, n, index) for v, n in zip(values, argnames,
                                                                    strict=True))
        out.append((param_id, dict(zip(argnames, values, strict=True)), marks))
    return out


def _points(marks, test_name: str) -> float:
    found = [m for m in marks if m.name == "points"]
    if not found:
        raise GraderError(f"{test_name} has no @pytest.mark.points(n)")
    points = found[0].args[0] if found[0].args else found[0].kwargs.get("n")
    return float(points)


def _module_fixtures(module) -> dict:
    fixtures = {}
    for name, obj in vars(module).items():
        unwrap = getattr(obj, "_get_wrapped_function", None)
        if unwrap is not None:  # pytest >= 8.4 FixtureFunctionDefinition
            fixtures[getattr(obj, "name", None) or name] = unwrap()
        elif getattr(obj, "_pytestfixturefunction", None) is not None:
            fixtures[obj._pytestfixturefunction.name or name] = obj
    return fixtures


def load_suite(suite_dir: Path) -> list[SuiteTest]:
    """Import every ``test_*.py`` of a suite folder once and collect its tests."""
    suite_dir = Path(suite_dir)
    files = sorted(suite_dir.glob("test_*.py"))
    if not files:
        raise GraderError(f"no hidden suite found in {suite_dir}")
    tests: list[SuiteTest] = []
    sys.path.insert(0, str(suite_dir))
    # Inside a pytest session run with --strict-markers (the project's tests), an unregistered
    # @pytest.mark.points would fail at import; the grader reads the marks itself.
    saved_config = getattr(pytest.mark, "_config", None)
    pytest.mark._config = None
    try:
        for path in files:
            module_name = f"_autograder_suite_{suite_dir.name}_{path.stem}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            fixtures = _module_fixtures(module)
            module_marks = _marks(module)
            for fname, fn in vars(module).items():
                if not fname.startswith("test_") or not inspect.isfunction(fn):
                    continue
                marks = _marks(fn) + module_marks
                sets = [_expand_parametrize(m) for m in marks if m.name == "parametrize"]
                for combo in itertools.product(*sets) if sets else [()]:
                    params, ids, extra = {}, [], []
                    for param_id, values, pmarks in combo:
                        params.update(values)
                        ids.append(param_id)
                        extra += pmarks
                    name = f"{path.name}::{fname}" + (f"[{'-'.join(ids)}]" if ids else "")
                    tests.append(SuiteTest(name, fn, params, _points(extra + marks, name),
                                           fixtures))
    finally:
        sys.path.remove(str(suite_dir))
        pytest.mark._config = saved_config
    return tests


def max_score(tests: list[SuiteTest]) -> float:
    return sum(t.points for t in tests)


class _FixtureScope:
    """Resolves the arguments of one test call (function scope)."""

    def __init__(self, test: SuiteTest, builtins: dict):
        self.test, self.values, self.teardowns = test, dict(builtins), []
        self.values.update(test.params)

    def resolve(self, name: str, stack=()):
        if name in self.values:
            return self.values[name]
        fixture = self.test.fixtures.get(name)
        if fixture is None or name in stack:
            raise GraderError(f"{self.test.name}: unknown or circular fixture {name!r}")
        kwargs = {arg: self.resolve(arg, (*stack, name))
                  for arg in inspect.signature(fixture).parameters}
        value = fixture(**kwargs)
        if inspect.isgenerator(value):
            generator, value = value, next(value)
            self.teardowns.append(generator)
        self.values[name] = value
        return value

    def close(self):
        for generator in reversed(self.teardowns):
            with _suppress():
                next(generator)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], Exception | StopIteration)


def run_test(test: SuiteTest, student, reference, seed: int) -> TestOutcome:
    """Run one test with fresh fixtures; every failure becomes a scored, explained outcome."""
    partial = Partial()
    builtins = {"student": student, "reference": reference, "partial": partial,
                "rng": test_rng(seed, test.name)}
    scope = _FixtureScope(test, builtins)
    start = time.perf_counter()
    escaped = None
    try:
        kwargs = {arg: scope.resolve(arg) for arg in inspect.signature(test.function).parameters}
        test.function(**kwargs)
    except GraderError:
        raise
    except Exception as error:  # noqa: BLE001 - scored below
        escaped = error
    finally:
        scope.close()
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
