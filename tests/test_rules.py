"""utils.rules: the loop check follows what runs, and read-only inputs cannot be faked.

The same check code runs in two places: in the student's kernel (self-checks, on live
functions: ``loops_in_function``) and in the grader (hidden suites, on the notebook's text:
``reachable_loops`` over ``source_lookup``). Every case here runs both and requires the same
phrases, so a notebook gets the same verdict from its self-check and from the grader.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import textwrap

import numpy as np
import pytest

from utils.rules import (
    READ_ONLY_MESSAGE,
    RULE_INPUTS,
    RULE_NO_LOOPS,
    UNREADABLE,
    call_with_read_only_inputs,
    calls_in_function,
    live_lookup,
    loops_in_function,
    python_loops,
    reachable_calls,
    reachable_loops,
    read_only_copy,
    source_lookup,
)


def run_cells(*cells: str) -> dict:
    """Run cells in one fresh namespace as a notebook kernel would (a cell that does not
    compile defines nothing; its source is registered so ``inspect`` can read it)."""
    namespace = {"np": np, "__name__": "__student__"}
    for index, cell in enumerate(cells):
        filename = f"<test cell {id(namespace)}-{index}>"
        linecache.cache[filename] = (len(cell), None, cell.splitlines(True), filename)
        try:
            code = compile(cell, filename, "exec")
        except SyntaxError:
            continue
        exec(code, namespace)  # noqa: S102 - test code
    return namespace


def both_sides(name: str, *cells: str) -> tuple[list[str], list[str]]:
    """(grader's phrases from the text, self-check's phrases from the live function)."""
    cells = tuple(textwrap.dedent(c) for c in cells)
    suite = reachable_loops(name, source_lookup(list(cells)))
    namespace = run_cells(*cells)
    top, _, member = name.partition(".")
    live = loops_in_function(getattr(namespace[top], member) if member else namespace[top])
    return suite, live


# ------------------------------------------------------------------------------ python_loops

@pytest.mark.parametrize("body, phrase", [
    ("for v in x:\n        pass", "a `for` loop on line 2"),
    ("while x.any():\n        x = x[1:]", "a `while` loop on line 2"),
    ("return [v for v in x]", "a list comprehension on line 2"),
    ("return {v for v in x}", "a set comprehension"),
    ("return {v: 1 for v in x}", "a dict comprehension"),
    ("return sum(v for v in x)", "a generator expression"),
    ("return list(map(abs, x))", "a call to `map`"),
    ("return list(filter(None, x))", "a call to `filter`"),
    ("return functools.reduce(np.add, x)", "a call to `functools.reduce`"),
    ("return np.vectorize(abs)(x)", "a call to `np.vectorize`"),
    ("return numpy.vectorize(abs)(x)", "a call to `numpy.vectorize`"),
    ("return np.frompyfunc(abs, 1, 1)(x)", "a call to `np.frompyfunc`"),
    ("return np.apply_along_axis(np.sum, 1, x)", "a call to `np.apply_along_axis`"),
    ("return np.apply_over_axes(np.sum, x, [0])", "a call to `np.apply_over_axes`"),
    ("return np.fromiter(x, float)", "a call to `np.fromiter`"),
    ("v = np.vectorize\n    return v(abs)(x)", "a use of `np.vectorize`"),
    ("from numpy import vectorize\n    return vectorize(abs)(x)", "an import of `vectorize`"),
    ("return getattr(np, 'vectorize')(abs)(x)", "the name `vectorize` in a string"),
    ("exec('y = [v for v in x]')\n    return x", "a call to `exec` (code the check cannot "
                                                "read)"),
])
def test_python_loops_names_each_hidden_loop(body, phrase):
    found = python_loops(f"def f(x):\n    {body}\n")
    assert any(phrase in f for f in found), found


def test_python_loops_passes_vectorised_code_and_reports_broken_code():
    assert python_loops("def f(X, Y):\n    d = X @ Y.T\n    return np.sqrt(np.maximum(d, 0))\n"
                        ) == []
    assert python_loops("@np.vectorize\ndef f(v):\n    return v + 1\n") == [
        "a use of `np.vectorize` (a hidden Python loop) on line 1"]
    assert python_loops(None) == ["no source code was found"]
    assert python_loops("def f(:\n    pass\n")[0].startswith("code that does not parse")
    # an indented method (as inspect gives it) parses too
    assert python_loops("    def m(self):\n        return [1 for _ in self.x]\n") == [
        "a list comprehension on line 2"]


# ------------------------------------------------------------------------------ source_lookup

def test_source_lookup_gives_the_final_binding():
    cells = ["def f(x):\n    return x\n",
             "def g(x):\n    for v in x:\n        pass\n\nf = g\n",
             "def broken(:\n",
             "@np.vectorize\ndef h(v):\n    return v\n\nif True:\n    def k():\n        return 1\n",
             "class C:\n    def m(self):\n        return 1\n    def m(self):\n        return 2\n",
             "gone = 1\ndel gone\nfrom functools import reduce as fold\n"]
    source_of = source_lookup(cells)
    assert source_of("f") == "f = g\n"
    assert source_of("h").startswith("@np.vectorize\ndef h(v):")
    assert source_of("k") == "def k():\n    return 1\n"
    assert source_of("C.m") == "def m(self):\n    return 2\n"
    assert source_of("fold") == "from functools import reduce as fold\n"
    assert source_of("broken") is None and source_of("gone") is None
    assert source_of("missing") is None and source_of("C.missing") is None
    # one text: a syntax error anywhere hides everything, as when it runs as one cell
    assert source_lookup("\n".join(cells))("f") is None


# ------------------------------------------------------------------------------ both sides agree

CASES = {
    "vectorised": ("f", False, """
        def f(X):
            return X @ X.T
        """),
    "a loop in the function": ("f", "a `for` loop on line 2 of `f`", """
        def f(X):
            for row in X:
                pass
            return X
        """),
    "a loop in a helper": ("f", "a list comprehension on line 2 of `helper`", """
        def helper(X):
            return np.array([row.sum() for row in X])

        def f(X):
            return helper(X) * 2
        """),
    "a loop two helpers away": ("f", "a `while` loop on line 3 of `inner`", """
        def inner(x):
            i = 0
            while i < 3:
                i += 1
            return x

        def outer(x):
            return inner(x)

        def f(x):
            return outer(x)
        """),
    "a rebinding after a loop-free decoy": ("f", "a `for` loop on line 2 of `slow`", """
        def slow(x):
            for v in x:
                pass
            return x

        def f(x):
            return x

        f = slow
        """),
    "an np.vectorize binding": ("f", "a call to `np.vectorize` (a hidden Python loop) on line 1 "
                                     "of `f`", """
        def one(v):
            return v + 1

        f = np.vectorize(one)
        """),
    "an @np.vectorize decorator": ("f", "a use of `np.vectorize`", """
        @np.vectorize
        def f(v):
            return v + 1
        """),
    "a lambda with a generator": ("f", "a generator expression on line 1 of `f`", """
        f = lambda x: sum(v for v in x)
        """),
    "functools.partial of a looping helper": ("f", "a `for` loop on line 2 of `g`", """
        import functools

        def g(x, scale):
            for v in x:
                pass
            return x * scale

        f = functools.partial(g, scale=2)
        """),
    "a method called through self": ("f", "a `for` loop on line 2 of `Model.helper`", """
        class Model:
            def helper(self, x):
                for v in x:
                    pass
                return x

            def unused(self):
                while True:
                    break

            def predict(self, x):
                return self.helper(x)

        def f(x):
            return Model().predict(x)
        """),
    "an inherited method": ("f", "a list comprehension on line 2 of `Base.step`", """
        class Base:
            def step(self, x):
                return [v for v in x]

        class Child(Base):
            def run(self, x):
                return self.step(x)

        def f(x):
            return Child().run(x)
        """),
    "an __init__ of a class it builds": ("f", "a `for` loop on line 2 of `Table.__init__`", """
        class Table:
            def __init__(self):
                for i in range(3):
                    pass

        def f(x):
            Table()
            return x
        """),
    "recursion between helpers ends": ("f", False, """
        def a(x):
            return b(x - 1) if x > 0 else 0

        def b(x):
            return a(x)

        f = a
        """),
    "a loop inside a cycle": ("f", "a `for` loop on line 2 of `b`", """
        def a(x):
            return b(x)

        def b(x):
            for _ in range(1):
                pass
            return a(x) if x else x

        def f(x):
            return a(x)
        """),
    "data built once at load time": ("f", False, """
        SQUARES = np.array([i * i for i in range(9)])

        def f(x):
            return x + SQUARES[0]
        """),
    "a parameter that shadows a looping helper": ("f", False, """
        def helper(x):
            return [v for v in x]

        def f(x, helper):
            return helper * x
        """),
    "a type annotation is not a call": ("f", False, """
        class Slow:
            def __init__(self):
                for i in range(3):
                    pass

        def f(x: Slow) -> Slow:
            return x
        """),
    "an alias of functools.reduce": ("f", "an import of `reduce`", """
        from functools import reduce

        def f(x):
            return reduce(np.add, x)
        """),
    "a nested function": ("f", "a dict comprehension on line 3 of `f`", """
        def f(x):
            def inner(v):
                return {i: i for i in v}
            return inner(x)
        """),
}


@pytest.mark.parametrize("case", list(CASES))
def test_self_check_and_grader_agree(case):
    name, expected, code = CASES[case]
    suite, live = both_sides(name, code)
    assert suite == live
    if expected:
        assert any(expected in phrase for phrase in suite), suite
    else:
        assert suite == []


def test_methods_as_roots_on_both_sides():
    code = """
        class Model:
            def __init__(self):
                for i in range(3):
                    pass

            def fast(self, x):
                return x @ x.T

            def slow(self, x):
                return self.rows(x)

            def rows(self, x):
                return [r for r in x]
        """
    assert both_sides("Model.fast", code) == ([], [])  # __init__ has run already
    suite, live = both_sides("Model.slow", code)
    assert suite == live == ["a list comprehension on line 2 of `Model.rows`"]
    namespace = run_cells(textwrap.dedent(code))
    assert loops_in_function(namespace["Model"]().slow) == suite  # a bound method


def test_an_inherited_method_as_root_on_both_sides():
    code = """
        class Base:
            def score(self, x):
                return self.rows(x)

            def rows(self, x):
                return [r for r in x]

        class Child(Base):
            def rows(self, x):
                return x.sum(axis=1)
        """
    suite = reachable_loops("Child.score", source_lookup(textwrap.dedent(code)))
    namespace = run_cells(textwrap.dedent(code))
    assert loops_in_function(namespace["Child"]().score) == suite
    # both `rows` are candidates for self.rows: the check cannot know which one runs
    assert suite == ["a list comprehension on line 2 of `Base.rows`"]


def test_a_cell_that_does_not_parse_defines_nothing_on_both_sides():
    first = "def f(x):\n    return x.sum()\n"
    broken = "def f(x):\n    for v in x\n        pass\n"  # never runs: the first f stays
    assert both_sides("f", first, broken) == ([], [])
    assert reachable_loops("f", source_lookup([broken])) == ["no source code was found for `f`"]


def test_a_helper_whose_text_cannot_be_read_fails_the_check():
    namespace = run_cells("def f(x):\n    return g(x)\n")
    exec("def g(x):\n    return x\n", namespace)  # noqa: S102 - no source anywhere
    found = loops_in_function(namespace["f"])
    assert found == ["the code of `g` could not be read (define it in a notebook cell and run "
                     "that cell)"]
    assert reachable_loops("g", lambda name: UNREADABLE if name == "g" else None) == found


def test_live_lookup_describes_values_made_from_student_code():
    namespace = run_cells("def g(x):\n    return [v for v in x]\n",
                          "import functools\nf = functools.partial(g)\nv = np.vectorize(abs)\n")
    source_of = live_lookup(namespace)
    assert source_of("f") == "f = functools.partial(g)\n"
    assert source_of("v").startswith("v = np.vectorize(")
    assert source_of("np") is None and source_of("nothing") is None
    assert loops_in_function(np.add) == []  # library code: nothing of the student's


def test_reachable_calls_finds_an_inverse_in_a_helper_or_alias_on_both_sides():
    cells = ["def h(A):\n    return np.linalg.inv(A)\n",
             "inverse = np.linalg.pinv\n",
             "def f(A, b):\n    return h(A) @ b\n",
             "def g(A, b):\n    return inverse(A) @ b\n",
             "def ok(A, b):\n    return np.linalg.solve(A, b)\n",
             "from numpy.linalg import inv as invert\n\ndef k(A, b):\n    return invert(A) @ b\n",
             "add = np.add\nsolve = np.linalg.solve\n"]
    source_of = source_lookup(cells)
    namespace = run_cells(*cells)
    expected = {"f": ["`inv` on line 2 of `h`"], "g": ["`pinv` on line 1 of `inverse`"],
                "ok": [], "k": ["`inv` on line 1 of `invert`"], "add": [], "solve": []}
    for name, phrases in expected.items():
        assert reachable_calls(name, source_of, ("inv", "pinv")) == phrases
        assert calls_in_function(namespace[name], ("inv", "pinv")) == phrases
        assert reachable_loops(name, source_of) == loops_in_function(namespace[name]) == []


def test_rule_texts_are_the_shared_wording():
    assert RULE_INPUTS == "must not modify its input arrays (work on copies)"
    assert RULE_NO_LOOPS.startswith("no Python loops (for/while, comprehensions, map, "
                                    "np.vectorize, ...)")


# ------------------------------------------------------------------------------ read-only inputs

WRITES = {
    "item assignment": lambda x: x.__setitem__(0, 1.0),
    "augmented assignment": lambda x: x.__iadd__(1.0),
    "np.copyto": lambda x: np.copyto(x, 0.0),
    "a ufunc with out=": lambda x: np.add(x, 1.0, out=x),
    "sort in place": lambda x: x.sort(),
    "fill": lambda x: x.fill(0.0),
    "put": lambda x: x.put(0, 1.0),
    "a write through a view": lambda x: x[::-1].__setitem__(0, 1.0),
    "a write through a reshape": lambda x: x.reshape(-1).__setitem__(0, 1.0),
    "a write through the memoryview": lambda x: x.data.cast("B").__setitem__(0, 1),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_into_a_read_only_copy_raises(write):
    original = np.arange(6.0).reshape(2, 3)
    copy = read_only_copy(original)
    with pytest.raises((ValueError, TypeError)):
        WRITES[write](copy)
    assert np.array_equal(copy, np.arange(6.0).reshape(2, 3))
    assert original.flags.writeable  # the caller's own array is never touched


def _buffer(x):
    while isinstance(x, np.ndarray):
        x = x.base
    assert type(x) is bytes  # immutable: nothing can write into it from Python
    return x


# What pure-Python student code can try. Out of scope (said in utils/rules.py): raw memory
# (ctypes, a hand-made __array_interface__ with a data pointer) and code that rewrites the
# checker or numpy in its own process.
UNLOCKS = {
    "flags.writeable = True": lambda x: setattr(x.flags, "writeable", True),
    "setflags(write=True)": lambda x: x.setflags(write=True),
    "on a view": lambda x: x[1:].setflags(write=True),
    "on the transpose": lambda x: setattr(x.T.flags, "writeable", True),
    "on x.base": lambda x: x.base.setflags(write=True),
    "a new array over the bytes below": lambda x: np.ndarray(x.shape, x.dtype,
                                                             buffer=_buffer(x)).fill(1.0),
    "as_strided(writeable=True)": lambda x: np.lib.stride_tricks.as_strided(
        x, writeable=True).fill(1.0),
    "np.asarray": lambda x: np.asarray(x).fill(1.0),
}


@pytest.mark.parametrize("unlock", list(UNLOCKS))
def test_student_code_cannot_make_the_copy_writeable(unlock):
    copy = read_only_copy(np.arange(4.0))
    with pytest.raises(ValueError):
        UNLOCKS[unlock](copy)
    assert not copy.flags.writeable and np.array_equal(copy, np.arange(4.0))


def test_read_only_copies_keep_structure_dtype_and_shape():
    value = {"w": np.arange(3, dtype=np.int32), "pair": (np.zeros((0, 2)), 1.5),
             "history": [np.float64(2.0), np.array(7.0), "text"], "f": len}
    copy = read_only_copy(value)
    assert type(copy) is dict and type(copy["pair"]) is tuple and type(copy["history"]) is list
    assert copy["w"].dtype == np.int32 and copy["pair"][0].shape == (0, 2)
    assert copy["history"][1].shape == () and copy["history"][0] == 2.0
    assert copy["f"] is len and copy["history"][2] == "text" and copy["pair"][1] == 1.5
    for array in (copy["w"], copy["pair"][0], copy["history"][1]):
        assert type(array) is np.ndarray and not array.flags.writeable
        with pytest.raises(ValueError):
            array.flags.writeable = True
    big_endian = np.arange(3, dtype=">f8")
    assert np.array_equal(read_only_copy(big_endian), big_endian)
    assert value["history"] is not copy["history"]


def test_call_with_read_only_inputs_passes_honest_code_and_catches_writes():
    x, config = np.arange(3.0), {"lr": 0.1}

    def honest(x, config):
        config = dict(config)
        config["t"] = 1
        return x * config["lr"], config

    result, new_config = call_with_read_only_inputs(honest, x, config=config)
    assert np.allclose(result, 0.1 * x) and new_config == {"lr": 0.1, "t": 1}

    def in_place(x, config):
        x *= 2
        return x

    with pytest.raises(ValueError, match=f"^{READ_ONLY_MESSAGE} .*an input array was written to"
                       ) as caught:
        call_with_read_only_inputs(in_place, x, config)
    assert "x *= 2" in "".join(__import__("traceback").format_tb(caught.value.__traceback__))
    assert np.array_equal(x, np.arange(3.0)) and config == {"lr": 0.1}


@pytest.mark.parametrize("change, where", [
    (lambda x, config, history: config.__setitem__("t", 1), "argument 2"),
    (lambda x, config, history: history.append(np.zeros(2)), "argument 3"),
    (lambda x, config, history: history.reverse(), "argument 3"),
    (lambda x, config, history: dict.__setitem__(config, "t", 1), "argument 2"),
    (lambda x, config, history: list.append(history, 0), "argument 3"),
    (lambda x, config, history: setattr(x, "shape", (3, 1)), "argument 1"),
    (lambda x, config, history: x.__setstate__(np.ones(3).__reduce__()[2]), "argument 1"),
])
def test_changed_lists_dicts_and_shapes_are_caught_after_the_call(change, where):
    def fn(x, config, history):
        change(x, config, history)
        return 0.0

    with pytest.raises(ValueError, match=f"{READ_ONLY_MESSAGE}: {where} was changed"):
        call_with_read_only_inputs(fn, np.arange(3.0), {"lr": 0.1}, [np.ones(2), np.zeros(2)])


def test_a_change_undone_before_returning_and_other_errors_pass_through():
    def restores(history):
        history.append(1)
        history.pop()
        return len(history)

    assert call_with_read_only_inputs(restores, [np.ones(2)]) == 1

    def refuses(x):
        raise ValueError("k must be positive")

    with pytest.raises(ValueError, match="^k must be positive$"):
        call_with_read_only_inputs(refuses, np.ones(2))
    # keyword arguments named like the checker's own parameter still reach the function
    assert call_with_read_only_inputs(lambda fn: fn, fn=3) == 3


def test_a_partial_is_followed_live():
    namespace = run_cells("def g(x):\n    return [v for v in x]\n")
    bound = functools.partial(namespace["g"])
    assert loops_in_function(bound) == ["a list comprehension on line 2 of `g`"]


@pytest.mark.parametrize("assignment", ["01_knn", "02_linear_regression",
                                        "03_linear_classifiers", "04_optimizers",
                                        "05_backprop"])
def test_the_solutions_get_the_same_phrases_on_both_sides(root, assignment):
    from autograder.extract import extract, read_notebook

    cells = [c.source for c in extract(read_notebook(
        root / "solutions" / assignment / f"{assignment}.ipynb")).cells]
    source_of = source_lookup(cells)
    namespace = run_cells(*cells)
    names = [k for k, v in namespace.items()
             if not k.startswith("__") and k != "np" and callable(v)]
    assert names
    for name in names:
        roots = [name] + [f"{name}.{m}" for m, v in vars(namespace[name]).items()
                          if inspect.isfunction(v)] if isinstance(namespace[name], type) \
            else [name]
        for root_name in roots:
            top, _, member = root_name.partition(".")
            live_fn = getattr(namespace[top], member) if member else namespace[top]
            assert reachable_loops(root_name, source_of) == loops_in_function(live_fn), root_name
            assert reachable_calls(root_name, source_of, ("inv", "pinv")) == \
                calls_in_function(live_fn, ("inv", "pinv")), root_name


def test_the_walk_is_bounded_and_says_so():
    chain = "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n\n" for i in range(800))
    found = reachable_loops("f0", source_lookup(chain + "def f800(x):\n    return x\n"))
    assert found == ["more than 500 definitions to read (the check stopped there)"]
    assert reachable_loops("f700", source_lookup(chain + "def f800(x):\n    return x\n")) == []
