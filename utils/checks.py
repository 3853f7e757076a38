"""Friendly self-checks for the exercise notebooks.

A self-check runs a few small cases against a student's function and prints one line per
case, then a summary such as ``compute_distances_no_loops: 3/3 checks passed``. On failure
it says what was expected, what came back (type, shape, dtype, a few values) and a hint.

Usage inside a check module (see ``utils/selfchecks/``)::

    check = SelfCheck("compute_distances_two_loops")
    with check.case("distances of a 2x3 example"):
        got = fn(X_train, X)
        expect_array(got, expected, hint="Did you take the square root?")
    check.report()

``report()`` raises ``NotImplementedError`` when any case hit an unimplemented stub (so an
untouched exercise fails only with that error) and ``SelfCheckFailed`` (an AssertionError)
when any case failed; it returns None when all pass (a test cell whose last value is a
number would be read by nbgrader as partial credit).
An unimplemented function can never pass: every case must call the function, and
``expect_*`` reject ``None``, wrong types, wrong shapes and non-finite values.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from utils.rules import READ_ONLY_MESSAGE, RULE_INPUTS, call_with_read_only_inputs

PASS_MARK = "\N{CHECK MARK}"
FAIL_MARK = "\N{BALLOT X}"
TODO_MARK = "\N{HOURGLASS}"


class CheckFailure(AssertionError):
    """One expectation inside a case did not hold; the message is meant for students."""


class SelfCheckFailed(AssertionError):
    """At least one case of a self-check failed."""


class NotImplementedYet(NotImplementedError):
    """At least one case hit ``raise NotImplementedError``: the function is still a stub."""


@dataclass
class _Case:
    description: str
    status: str = "pass"  # pass | fail | todo
    message: str = ""


@dataclass
class SelfCheck:
    """A named group of cases for one function; see the module docstring."""

    name: str
    cases: list[_Case] = field(default_factory=list)
    quiet: bool = False

    @contextmanager
    def case(self, description: str) -> Iterator[None]:
        """Run the body as one case; exceptions become a failed or not-implemented case."""
        case = _Case(description)
        self.cases.append(case)
        try:
            yield
        except NotImplementedError:
            case.status, case.message = "todo", "not implemented yet"
        except CheckFailure as failure:
            case.status, case.message = "fail", str(failure)
        except Exception as error:  # noqa: BLE001 - student code may raise anything
            case.status = "fail"
            case.message = f"raised {type(error).__name__}: {error}\n{_student_frame(error)}"

    def report(self) -> None:
        """Print one line per case and a summary; raise if anything is missing or wrong."""
        passed = sum(c.status == "pass" for c in self.cases)
        todo = sum(c.status == "todo" for c in self.cases)
        if not self.quiet:
            for c in self.cases:
                mark = {"pass": PASS_MARK, "fail": FAIL_MARK, "todo": TODO_MARK}[c.status]
                print(f"  {mark} {c.description}")
                if c.status == "fail":
                    print(_indent(c.message, "      "))
        total = len(self.cases)
        if todo:
            summary = f"{self.name}: not implemented yet ({passed}/{total} checks passed)"
            print(summary)
            raise NotImplementedYet(f"{self.name} is not implemented yet: replace the "
                                    "`raise NotImplementedError` with your code.")
        summary = f"{self.name}: {passed}/{total} checks passed"
        print(summary)
        if passed < total:
            raise SelfCheckFailed(f"{summary}; read the messages above for what went wrong.")
        if total == 0:
            raise SelfCheckFailed(f"{self.name}: the self-check ran no case (a bug in the check).")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _student_frame(error: BaseException) -> str:
    """The innermost frame that is not in this package: where the student's code failed."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "/utils/" not in f.filename.replace("\\", "/")]
    if not frames:
        return ""
    f = frames[-1]
    return f"at line {f.lineno} of {f.name}: {f.line}"


def describe(value: object, max_items: int = 4) -> str:
    """A one-line description of a value: type, and for arrays shape, dtype and a few values."""
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        shown = np.array2string(flat[:max_items], precision=4, separator=", ")
        more = ", ..." if flat.size > max_items else ""
        return f"array of shape {value.shape}, dtype {value.dtype}, values {shown[:-1]}{more}]"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 80 else text[:77] + '...'}"


def expect_array(got: object, expected: np.ndarray, *, rtol: float = 1e-6, atol: float = 1e-8,
                 what: str = "the result", hint: str = "", dtype_kind: str | None = None) -> None:
    """Expect a numpy array of the same shape as ``expected`` whose values are close to it.

    Inputs:
    - got: the student's value; expected: the right answer (an array).
    - rtol, atol: tolerances as in ``np.allclose``.
    - what: how to name the value in messages; hint: a sentence added on failure.
    - dtype_kind: if given, the required ``dtype.kind`` (``"f"`` float, ``"i"`` int, ...).
    """
    expected = np.asarray(expected)
    tail = f"\nHint: {hint}" if hint else ""
    if not isinstance(got, np.ndarray):
        raise CheckFailure(f"Expected {what} to be a numpy array of shape {expected.shape}, "
                           f"got {describe(got)}.{tail}")
    if got.shape != expected.shape:
        raise CheckFailure(f"Expected {what} of shape {expected.shape}, got shape {got.shape}."
                           f"{tail}")
    if dtype_kind is not None and got.dtype.kind not in dtype_kind:
        raise CheckFailure(f"Expected {what} with dtype kind {dtype_kind!r}, got dtype "
                           f"{got.dtype}.{tail}")
    if got.dtype.kind in "fc" and not np.all(np.isfinite(got)):
        bad = int(np.sum(~np.isfinite(got)))
        raise CheckFailure(f"{what.capitalize()} holds {bad} NaN or infinite value(s): "
                           f"{describe(got)}.{tail}")
    if got.dtype.kind not in "biufc":
        raise CheckFailure(f"Expected {what} to hold numbers, got dtype {got.dtype}.{tail}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
        where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
        raise CheckFailure(
            f"{what.capitalize()} differs from the expected values.\n"
            f"expected: {describe(expected)}\n"
            f"got:      {describe(got)}\n"
            f"largest difference {float(diff[where]):.3g} at index {tuple(int(i) for i in where)} "
            f"(expected {expected[where]!r}, got {got[where]!r}).{tail}")


def expect_close(got: object, expected: float, *, rtol: float = 1e-6, atol: float = 1e-8,
                 what: str = "the result", hint: str = "") -> None:
    """Expect a real number (Python or numpy scalar, or a 0-d array) close to ``expected``."""
    tail = f"\nHint: {hint}" if hint else ""
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise CheckFailure(f"Expected {what} to be a number close to {expected:.6g}, "
                           f"got {describe(got)}.{tail}")
    if not np.isfinite(got):
        raise CheckFailure(f"{what.capitalize()} is {got}, expected {expected:.6g}.{tail}")
    if not np.isclose(float(got), expected, rtol=rtol, atol=atol):
        raise CheckFailure(f"Expected {what} close to {expected:.6g}, got {float(got):.6g}.{tail}")


def expect_equal(got: object, expected: object, *, what: str = "the result", hint: str = "") -> None:
    """Expect ``got == expected`` for plain values (ints, strings, tuples, dicts of these)."""
    tail = f"\nHint: {hint}" if hint else ""
    if type(got) is not type(expected) or got != expected:
        raise CheckFailure(f"Expected {what} to be {expected!r}, got {describe(got)}.{tail}")


def expect(condition: bool, message: str) -> None:
    """Expect a condition; the message says in words what should have held."""
    if not condition:
        raise CheckFailure(message)


def read_only_result(fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` on read-only copies of its arrays (``utils.rules``'
    ``call_with_read_only_inputs``, the code the grader uses); a write into an input raises
    CheckFailure stating the rule ``RULE_INPUTS``. Returns what ``fn`` returns."""
    try:
        return call_with_read_only_inputs(fn, *args, **kwargs)
    except ValueError as error:
        if not str(error).startswith(READ_ONLY_MESSAGE):
            raise
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "the function")
        raise CheckFailure(f"{name} {RULE_INPUTS}: it wrote into one of its input arrays "
                           f"({error}).") from None
