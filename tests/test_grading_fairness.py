"""Fair grading, enforced for every assignment that has a variant library (tests/variants/*.py).

For every variant of every assignment (the solution notebook with the variant's graded cells
swapped in), graded by a real ``Grader`` with the sandbox on (one per assignment):
- five seeds give the same per-test scores, equal to the variant's ``scores`` (tests not
  listed: full marks): the grade depends on the code, never on the random draw;
- the same holds once more while two processes burn the CPU: never on time or load;
- the reference scores full marks;
- generated TRIVIAL variants (every function of one graded cell made to raise, return 0,
  return None, echo its first argument, or return zeros shaped like the right answer) score 0
  on that cell's tests, unless the module exempts the pair with a reason;
- the visible self-check of each test cell a variant lists in ``selfcheck_fails`` fails, and
  the solution passes every visible self-check.

A variant module that is present but broken fails here (it is never skipped). The grading
tests are marked slow (about 0.2 s per graded submission); the self-check tests are fast.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import subprocess
import sys

import numpy as np
import pytest
import variants as library
from conftest import ROOT

from autograder.grading import Assignment, Grader
from autograder.sandbox import SandboxSettings

SEEDS = (0, 1, 2, 3, 4)
TOLERANCE = 1e-6


def _collect() -> tuple[dict, dict]:
    modules, broken = {}, {}
    for name in library.module_names():
        try:
            modules[name] = library.load_module(name)
        except Exception as error:  # noqa: BLE001 - reported by test_variant_module_loads
            broken[name] = error
    return modules, broken


MODULES, BROKEN = _collect()
VARIANT_IDS = [(name, v.name) for name, module in MODULES.items() for v in module.VARIANTS]
SELFCHECK_IDS = [(name, v.name) for name, module in MODULES.items() for v in module.VARIANTS
                 if v.selfcheck_fails]
# One trivial-code test per graded cell (they spread over the test workers).
CELL_IDS = [(name, grade_id) for name, module in MODULES.items()
            for grade_id in library.solution_cells(module.ASSIGNMENT)]


def _variant(module_name: str, variant_name: str) -> library.Variant:
    return next(v for v in MODULES[module_name].VARIANTS if v.name == variant_name)


# ----------------------------------------------------------------------------- grading
class _Graders:
    """One Grader per assignment, built on first use, closed at the end of the module."""

    def __init__(self, scratch):
        self.scratch = scratch
        self.graders: dict[str, Grader] = {}

    def get(self, assignment: str) -> Grader:
        if assignment not in self.graders:
            settings = SandboxSettings.for_course(ROOT, self.scratch)
            self.graders[assignment] = Grader(Assignment.find(assignment), settings)
        return self.graders[assignment]

    def close(self) -> None:
        for grader in self.graders.values():
            grader.close()


@pytest.fixture(scope="module")
def graders(tmp_path_factory):
    pool = _Graders(tmp_path_factory.mktemp("fairness"))
    yield pool
    pool.close()


def _short(test_name: str) -> str:
    """"test_knn.py::test_cross_validate" -> "test_cross_validate" (parameters kept)."""
    return test_name.split("::", 1)[-1]


def _full_marks(grader: Grader) -> dict[str, float]:
    return {_short(t.name): t.points for t in grader.tests}


def _grade(grader: Grader, assignment: str, replace: dict[str, str], student_id: str,
           seed: int) -> tuple[dict[str, float], dict[str, str]]:
    """(short test name -> score, short test name -> feedback) of one submission."""
    result = grader.grade_bytes(student_id, library.notebook_bytes(assignment, replace),
                                "fairness test", global_seed=seed)
    tests = result["tests"]
    return ({_short(t["name"]): float(t["score"]) for t in tests},
            {_short(t["name"]): t["output"] for t in tests})


def _expected(grader: Grader, variant: library.Variant) -> dict[str, float]:
    expected = _full_marks(grader)
    unknown = set(variant.scores) - set(expected)
    assert not unknown, (f"variant {variant.name}: scores name unknown tests {sorted(unknown)}; "
                         f"the suite has {sorted(expected)}")
    for name, score in variant.scores.items():
        assert 0 <= score <= expected[name], f"variant {variant.name}: {name} score {score} " \
                                             f"outside 0..{expected[name]}"
    expected.update(variant.scores)
    return expected


def _differences(got: dict[str, float], expected: dict[str, float], feedback: dict[str, str]
                 ) -> list[str]:
    return [f"{name}: expected {expected[name]:.6g}, got {got.get(name, float('nan')):.6g}\n"
            f"    feedback: {feedback.get(name, '')[:600]}"
            for name in expected if abs(got.get(name, float("nan")) - expected[name]) > TOLERANCE
            or name not in got]


# ----------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("module_name", library.module_names())
def test_variant_module_loads(module_name):
    if module_name in BROKEN:
        raise AssertionError(f"tests/variants/{module_name}.py is broken: "
                             f"{type(BROKEN[module_name]).__name__}: {BROKEN[module_name]}")
    assert MODULES[module_name].VARIANTS, f"tests/variants/{module_name}.py has no variants"


@pytest.mark.slow
@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_reference_scores_full_marks(module_name, graders):
    assignment = MODULES[module_name].ASSIGNMENT
    grader = graders.get(assignment)
    got, feedback = _grade(grader, assignment, {}, "reference", 0)
    problems = _differences(got, _full_marks(grader), feedback)
    assert not problems, "the reference loses points:\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize(("module_name", "variant_name"), VARIANT_IDS)
def test_variant_scores_are_exact_under_every_seed(module_name, variant_name, graders):
    module, variant = MODULES[module_name], _variant(module_name, variant_name)
    grader = graders.get(module.ASSIGNMENT)
    expected = _expected(grader, variant)
    problems = []
    for seed in SEEDS:
        got, feedback = _grade(grader, module.ASSIGNMENT, variant.replace, variant.name, seed)
        problems += [f"seed {seed}: {line}" for line in _differences(got, expected, feedback)]
    assert not problems, f"{variant.name} ({variant.description}):\n" + "\n".join(problems)


@contextlib.contextmanager
def _cpu_load(processes: int = 2):
    """Two processes that burn the CPU while the block runs; killed after."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


@pytest.mark.slow
@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_variant_scores_are_the_same_under_cpu_load(module_name, graders):
    module = MODULES[module_name]
    grader = graders.get(module.ASSIGNMENT)
    problems = []
    with _cpu_load():
        for variant in module.VARIANTS:
            got, feedback = _grade(grader, module.ASSIGNMENT, variant.replace, variant.name,
                                   SEEDS[0])
            problems += [f"{variant.name}: {line}"
                         for line in _differences(got, _expected(grader, variant), feedback)]
    assert not problems, "under CPU load:\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize(("module_name", "grade_id"), CELL_IDS)
def test_trivial_code_earns_nothing(module_name, grade_id, graders):
    module = MODULES[module_name]
    grader = graders.get(module.ASSIGNMENT)
    trivial = [v for v in library.trivial_variants(module.ASSIGNMENT, list(_full_marks(grader)),
                                                   getattr(module, "TESTS_OF", None),
                                                   getattr(module, "TRIVIAL_EXEMPT", None))
               if v.grade_id == grade_id]
    exempt = {kind for (cell, kind) in getattr(module, "TRIVIAL_EXEMPT", {}) if cell == grade_id}
    assert trivial or exempt, f"no trivial variant was generated for the cell {grade_id}"
    problems = []
    for variant in trivial:
        got, feedback = _grade(grader, module.ASSIGNMENT, variant.replace, variant.name,
                               SEEDS[0])
        problems += [f"{variant.name}: {test} earns {got[test]:g} "
                     f"(feedback: {feedback[test][:300]})"
                     for test in variant.tests if got[test] > 0]
    assert not problems, "trivial code earns points:\n" + "\n".join(problems)


# ----------------------------------------------------------------------------- self-checks
def _run_visible_selfcheck(assignment: str, cells: dict[str, str], test_grade_id: str
                           ) -> tuple[BaseException | None, str]:
    """Run the visible part of one test cell after the graded cells and the notebook's
    ``utils.selfchecks`` imports; returns (the exception raised or None, what it printed)."""
    namespace: dict = {"np": np, "__name__": f"selfcheck_{assignment}"}
    for grade_id, source in cells.items():
        filename = f"<{assignment}:{grade_id}:{hash(source) & 0xFFFFFFFF:08x}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own variants
    exec(library.selfcheck_imports(assignment), namespace)  # noqa: S102
    visible = library.visible_part(library.test_cells(assignment)[test_grade_id])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(visible, f"<test cell {test_grade_id}>", "exec"), namespace)  # noqa: S102
        except Exception as error:  # noqa: BLE001 - returned to the caller
            return error, printed.getvalue()
    return None, printed.getvalue()


@pytest.mark.parametrize(("module_name", "variant_name"), SELFCHECK_IDS)
def test_selfcheck_fails_for_the_variant(module_name, variant_name):
    module, variant = MODULES[module_name], _variant(module_name, variant_name)
    cells = library.graded_sources(module.ASSIGNMENT, variant.replace)
    for test_grade_id in variant.selfcheck_fails:
        error, printed = _run_visible_selfcheck(module.ASSIGNMENT, cells, test_grade_id)
        # A failed case ends in SelfCheckFailed (an AssertionError), a stub in
        # NotImplementedYet; anything else means the check itself crashed.
        assert isinstance(error, AssertionError | NotImplementedError), (
            f"{variant.name}: the visible self-check of {test_grade_id} should fail (a failed "
            f"case or a stub), got {error!r}\n{printed}")


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_solution_passes_every_visible_selfcheck(module_name):
    assignment = MODULES[module_name].ASSIGNMENT
    cells = library.graded_sources(assignment, {})
    for test_grade_id in library.test_cells(assignment):
        error, printed = _run_visible_selfcheck(assignment, cells, test_grade_id)
        assert error is None, f"{test_grade_id}: {error!r}\n{printed}"
