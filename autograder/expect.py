"""Assertions for hidden suites: exact types first, then values, with student-facing messages.

All helpers raise ``AssertionError`` whose message is written for the student ("expected an
array of shape (3, 4), got shape (4, 3)"). They never show the full hidden inputs; arrays are
summarised (shape, dtype, first differing entry).
"""

from __future__ import annotations

import ast
import contextlib
import math
from collections.abc import Iterator

import numpy as np

from autograder.codec import TrustedFunction
from autograder.errors import StudentError
from utils.rules import RULE_INPUTS, python_loops

__all__ = ["calls_to", "python_loops", "raises_student_error", "same_array",
           "same_as_one_of", "same_number", "same_value", "trusted_function"]

_KIND_WORDS = {"f": "floating-point", "i": "signed integer", "u": "unsigned integer",
               "b": "boolean", "c": "complex"}


def _describe(value) -> str:
    """A short description of a decoded value's type, for messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy scalar of dtype {value.dtype}"
    name = type(value).__name__
    if name == "Handle":
        return f"an object of your class `{getattr(value, 'type_name', '?')}`"
    return f"a value of type {name}"


def same_array(got, expected, *, rtol: float = 1e-6, atol: float = 1e-8,
               dtype_kind: str | None = None, what: str = "the result") -> None:
    """Check that ``got`` is a numpy array equal to ``expected`` (same shape, close values).

    Inputs:
    - got: the student's decoded result (any type; it must be an ndarray).
    - expected: array-like, the reference result.
    - rtol, atol: tolerances as in ``numpy.allclose``; NaN equals NaN only where expected.
    - dtype_kind: if given, the allowed ``dtype.kind`` letters of ``got`` ("f", "iu", "b").
      Without it, integer and boolean results must have the reference's kind, and floats
      must be floats.
    - what: how the message names the value ("the distance matrix").
    Raises AssertionError with a message for the student.
    """
    expected = np.asarray(expected)
    if type(got) is not np.ndarray:
        raise AssertionError(f"{what}: expected a numpy array of shape {expected.shape}, "
                             f"got {_describe(got)}")
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got shape {got.shape}")
    kinds = dtype_kind or ("iu" if expected.dtype.kind in "iu" else expected.dtype.kind)
    if got.dtype.kind not in kinds:
        wanted = " or ".join(_KIND_WORDS.get(k, k) for k in kinds)
        raise AssertionError(f"{what}: expected {wanted} values, got dtype {got.dtype}")
    if got.size == 0:
        return
    if expected.dtype.kind in "fc" or got.dtype.kind in "fc":
        wide = np.complex128 if "c" in (got.dtype.kind + expected.dtype.kind) else np.float64
        close = np.isclose(got.astype(wide), expected.astype(wide), rtol=rtol, atol=atol,
                           equal_nan=True)
    else:
        close = got == expected
    if not close.all():
        bad = tuple(int(i) for i in np.argwhere(~close)[0])
        where = f"[{', '.join(map(str, bad))}]" if bad else ""
        raise AssertionError(
            f"{what}: {int((~close).sum())} of {close.size} entries differ; first at "
            f"{where}: expected {expected[bad].item()!r}, got {got[bad].item()!r}")


def same_number(got, expected, *, rtol: float = 1e-6, atol: float = 1e-8,
                what: str = "the result") -> None:
    """Check that ``got`` is a real number (Python or numpy scalar, not bool) close to ``expected``.

    A 0-d or size-1 array is refused: the function must return a number.
    """
    ok_types = (int, float, np.integer, np.floating)
    if isinstance(got, bool | np.bool_) or not isinstance(got, ok_types):
        raise AssertionError(f"{what}: expected a number, got {_describe(got)}")
    g, e = float(got), float(expected)
    if math.isnan(e) and math.isnan(g):
        return
    if not math.isclose(g, e, rel_tol=rtol, abs_tol=atol):
        raise AssertionError(f"{what}: expected {e!r}, got {g!r}")


def same_value(got, expected, *, rtol: float = 1e-6, atol: float = 1e-8,
               what: str = "the result") -> None:
    """Recursive comparison of plain values: numbers, strings, None, arrays, lists, tuples, dicts.

    Containers must have the same type (list vs tuple matters), the same length or keys;
    numbers compare with tolerances (int vs float is accepted, bool is not a number);
    arrays with ``same_array``.
    """
    if isinstance(expected, np.ndarray):
        same_array(got, expected, rtol=rtol, atol=atol, what=what)
    elif isinstance(expected, bool | np.bool_) or expected is None or isinstance(expected, str):
        if type(got) is not type(expected) and not (
                isinstance(expected, bool | np.bool_) and isinstance(got, bool | np.bool_)):
            raise AssertionError(f"{what}: expected {expected!r}, got {_describe(got)}")
        if got != expected:
            raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")
    elif isinstance(expected, int | float | np.integer | np.floating):
        same_number(got, expected, rtol=rtol, atol=atol, what=what)
    elif isinstance(expected, list | tuple):
        if type(got) is not type(expected):
            raise AssertionError(f"{what}: expected a {type(expected).__name__}, got "
                                 f"{_describe(got)}")
        if len(got) != len(expected):
            raise AssertionError(f"{what}: expected {len(expected)} items, got {len(got)}")
        for index, (g, e) in enumerate(zip(got, expected, strict=True)):
            same_value(g, e, rtol=rtol, atol=atol, what=f"{what}[{index}]")
    elif isinstance(expected, dict):
        if type(got) is not dict:
            raise AssertionError(f"{what}: expected a dict, got {_describe(got)}")
        if set(got) != set(expected):
            missing = sorted(map(repr, set(expected) - set(got)))
            extra = sorted(map(repr, set(got) - set(expected)))
            raise AssertionError(f"{what}: wrong keys; missing {', '.join(missing) or 'none'}, "
                                 f"unexpected {', '.join(extra) or 'none'}")
        for key in expected:
            same_value(got[key], expected[key], rtol=rtol, atol=atol, what=f"{what}[{key!r}]")
    else:
        raise TypeError(f"same_value cannot compare expected values of type "
                        f"{type(expected).__name__}")


def same_as_one_of(got, options: list, *, rtol: float = 1e-6, atol: float = 1e-8,
                   what: str = "the result") -> None:
    """Pass when ``got`` matches any of ``options`` (each compared as by ``same_value``).

    Use it where the exercise allows more than one right answer (two conventions for a tie,
    a result with or without a dropped constant): list the preferred answer first.
    Inputs:
    - got: the student's decoded value; options: a non-empty list of accepted values.
    - rtol, atol, what: as in ``same_value``.
    Raises AssertionError with the message about ``options[0]`` when none matches.
    """
    if not isinstance(options, list | tuple) or not options:
        raise TypeError("same_as_one_of needs a non-empty list of accepted values")
    first_failure = None
    for option in options:
        try:
            same_value(got, option, rtol=rtol, atol=atol, what=what)
        except AssertionError as failure:
            first_failure = first_failure or failure
        else:
            return
    raise first_failure


def _call_name(node: ast.Call) -> str:
    parts, func = [], node.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def calls_to(source: str | None, names: tuple[str, ...]) -> list[str]:
    """Describe every call in ``source`` of a function whose last name is in ``names``
    (``"inv"`` matches ``np.linalg.inv(...)`` and ``inv(...)``), e.g. "`inv` on line 3".

    A missing source or one that does not parse counts as one problem (empty list: none found).
    """
    if source is None:
        return ["no source found"]
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [f"code that does not parse ({error.msg})"]
    return [f"`{_call_name(node).rsplit('.', 1)[-1]}` on line {node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _call_name(node).rsplit(".", 1)[-1] in names]


@contextlib.contextmanager
def raises_student_error(type_name: str | tuple[str, ...], what: str = "the call"
                         ) -> Iterator[None]:
    """Expect the student's code to raise an exception of the given type name(s).

        with raises_student_error("ValueError", what="predict(num_loops=3)"):
            model.predict(X, num_loops=3)
    """
    names = (type_name,) if isinstance(type_name, str) else tuple(type_name)
    try:
        yield
    except StudentError as error:
        if error.type_name not in names:
            raise AssertionError(f"{what}: expected {' or '.join(names)}, got {error}") from None
        return
    raise AssertionError(f"{what}: expected {' or '.join(names)} to be raised, nothing was raised")


def trusted_function(source: str) -> TrustedFunction:
    """A function written by the suite's author that student code may receive as an argument.

        f = trusted_function("lambda x: float(np.sum(x ** 2))")
        same_array(student.numerical_gradient(f, x), reference.numerical_gradient(f, x))

    ``source`` is one expression giving a callable (a ``lambda``) or statements ending with a
    ``def``; it sees only ``np`` and the builtins. It travels as text and is compiled on each
    side (in the sandbox for the student), so both get equivalent callables. Build the source
    from random numbers with ``repr`` (exact for floats). Functions never come back: one a
    student returns arrives as a handle, which every ``same_*`` helper refuses.
    """
    return TrustedFunction(source)


def result_on_read_only_inputs(proxy, fn, *args, **kwargs):
    """``proxy.call_read_only(fn, *args, **kwargs)``, with the rule's wording on a write.

    Inputs:
    - proxy: the ``student`` (or ``reference``) fixture; fn: a function name or proxy callable.
    Returns the decoded result. Raises AssertionError ("`fn` must not modify its input
    arrays ...: it wrote into an input (numpy's message)") when the code wrote into one of
    its (read-only) arguments; any other StudentError propagates unchanged.
    """
    try:
        return proxy.call_read_only(fn, *args, **kwargs)
    except StudentError as error:
        if error.type_name == "ValueError" and "read-only" in error.message:
            name = fn if isinstance(fn, str) else getattr(fn, "qualname", "the function")
            raise AssertionError(f"`{name}` {RULE_INPUTS}: it wrote into an input "
                                 f"({error.message.splitlines()[0][:200]})") from None
        raise
