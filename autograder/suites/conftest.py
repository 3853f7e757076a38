"""Run a hidden suite with plain pytest against one notebook (instructor's debugging path).

    pytest autograder/suites/01_knn --submission path/to/notebook.ipynb [--seed 0]

Without ``--submission`` the suite runs against the reference notebook itself (it must pass).
The fixtures are the grader's: ``student`` runs in the same sandbox, ``reference`` in-process,
``rng`` seeded from (seed, student id, test name) exactly as in ``python -m autograder grade``,
``partial`` fails the test at the end if any part failed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.extract import extract, parse_notebook, read_notebook
from autograder.fixtures import Partial, student_seed, test_rng
from autograder.grading import COURSE_ROOT, Assignment
from autograder.proxy import ReferenceProxy, StudentProxy
from autograder.sandbox import Sandbox, SandboxSettings


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "hidden suites")
    group.addoption("--submission", default=None,
                    help="notebook to grade (default: the assignment's reference notebook)")
    group.addoption("--seed", type=int, default=0, help="global seed, as in the grade command")
    group.addoption("--student-id", default=None,
                    help="student id for the seed (default: the notebook's file stem)")
    group.addoption("--isolation", default=None, choices=["full", "none"],
                    help="sandbox isolation (default: full, or $AUTOGRADER_ISOLATION)")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): points the hidden test is worth")


class _Environment:
    """Per assignment: the sandboxed student session, the reference and the seed."""

    def __init__(self, config):
        self.config = config
        self.sandbox = None
        self.cache = {}

    def get(self, assignment_name: str):
        if assignment_name in self.cache:
            return self.cache[assignment_name]
        assignment = Assignment.find(assignment_name)
        reference = extract(read_notebook(assignment.reference_notebook))
        option = self.config.getoption("--submission")
        path = Path(option) if option else assignment.reference_notebook
        raw = path.read_bytes()
        extraction = extract(parse_notebook(raw), reference.cells)
        if self.sandbox is None:
            overrides = {}
            if self.config.getoption("--isolation"):
                overrides["isolation"] = self.config.getoption("--isolation")
            settings = SandboxSettings.for_course(COURSE_ROOT, path.resolve().parent,
                                                  **overrides)
            self.sandbox = Sandbox(settings)
        session = self.sandbox.open([c.source for c in extraction.cells], raw)
        student_id = self.config.getoption("--student-id") or path.stem
        seed = student_seed(self.config.getoption("--seed"), student_id)
        entry = (StudentProxy(session, extraction.cells), ReferenceProxy(reference.cells),
                 seed, session, extraction.problems)
        self.cache[assignment_name] = entry
        return entry

    def close(self):
        for entry in self.cache.values():
            entry[3].close()
        if self.sandbox is not None:
            self.sandbox.close()


@pytest.fixture(scope="session")
def _autograder_environment(request):
    environment = _Environment(request.config)
    yield environment
    environment.close()


def _assignment_of(request) -> str:
    return Path(request.path).parent.name


@pytest.fixture
def student(request, _autograder_environment):
    return _autograder_environment.get(_assignment_of(request))[0]


@pytest.fixture
def reference(request, _autograder_environment):
    proxy = _autograder_environment.get(_assignment_of(request))[1]
    proxy.reset()
    return proxy


@pytest.fixture
def rng(request, _autograder_environment):
    seed = _autograder_environment.get(_assignment_of(request))[2]
    return test_rng(seed, f"{Path(request.path).name}::{request.node.name}")


@pytest.fixture
def partial():
    return Partial()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test whose parts failed fails (in the call phase, with every part's message)."""
    result = yield
    tracker = getattr(item, "funcargs", {}).get("partial")
    if isinstance(tracker, Partial) and tracker.failures():
        failed = tracker.failures()
        pytest.fail(f"{len(failed)} of {len(tracker.parts)} parts failed:\n" +
                    "\n".join(f"- {p.name}: {p.message}" for p in failed), pytrace=False)
    return result
