"""Run a hidden suite with plain pytest against one notebook (instructor's debugging path).

    pytest autograder/suites/01_knn --submission path/to/notebook.ipynb [--seed 0]

Without ``--submission`` the suite runs against the reference notebook itself (it must pass).
The fixtures are the grader's: ``student`` runs in the same sandbox, ``reference`` in-process,
``rng`` seeded from (seed, student id, test name) exactly as in ``python -m autograder grade``,
``partial`` fails the test at the end if any part failed. Suites are checked with the grader's
own rules (``autograder.runner.module_tests``) at collection, so a suite that pytest would run
but the grader would refuse fails here too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import limits
from autograder.errors import GraderError
from autograder.extract import extract, read_notebook
from autograder.fixtures import Partial, student_seed, test_rng
from autograder.grading import COURSE_ROOT, Assignment
from autograder.intake import read_graded_cells
from autograder.proxy import ReferenceProxy, StudentProxy
from autograder.runner import module_tests
from autograder.safe_files import read_regular_file
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


SUITES = Path(__file__).resolve().parent


def pytest_collection_modifyitems(session, config, items):
    """Refuse what the grader refuses (parametrize, other fixtures, missing points, ...)."""
    checked = set()
    for item in items:
        module = getattr(item, "module", None)
        if module is None or module in checked or SUITES not in Path(item.path).parents:
            continue
        checked.add(module)
        try:
            module_tests(module, Path(item.path).name)
        except GraderError as error:
            raise pytest.UsageError(f"this suite would not run in the grader: {error}"
                                    ) from None


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
        # Read as the grader reads a submission: a regular file under the size cap, parsed
        # in a limited helper process; only the graded sources reach the sandbox.
        raw = read_regular_file(path, limits.MAX_FILE_BYTES)
        kind = "zip" if path.suffix == ".zip" else "notebook"
        extraction = read_graded_cells(raw, kind, assignment_name, reference.cells)
        if self.sandbox is None:
            overrides = {}
            if self.config.getoption("--isolation"):
                overrides["isolation"] = self.config.getoption("--isolation")
            settings = SandboxSettings.for_course(COURSE_ROOT, path.resolve().parent,
                                                  **overrides)
            self.sandbox = Sandbox(settings)
        session = self.sandbox.open([c.source for c in extraction.cells], b"")
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
