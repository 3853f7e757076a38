"""Rules that graded functions must follow, checked the same way in a student's notebook and
in the hidden grader.

Two kinds of checks live here, both reading what actually runs:

**No Python loops.** A loop check reads the code of the graded name's *final* binding (the last
``def``, ``class`` or assignment such as ``f = helper`` or ``f = np.vectorize(g)``) and of every
student-defined function, class method and alias it reaches, transitively; a loop hidden in a
helper is found, and so is a rebinding after a loop-free decoy.

- ``python_loops(source)``: the loops in one source text (no following of names).
- ``reachable_loops(name, source_of)``: the loops reachable from ``name``, where ``source_of``
  gives the source of each top-level name; the hidden suites build it with
  ``source_lookup(graded_cells)`` from the notebook's text (never executed).
- ``loops_in_function(fn)``: the same for a live function in the student's kernel (self-checks);
  it reads the source of ``fn`` and of its module's other functions with ``inspect``.

- ``reachable_calls(name, source_of, ("inv", "pinv"))`` / ``calls_in_function(fn, names)``: the
  same walk for calls of given functions (the "no explicit inverse" rule).

Both sides walk the same texts with the same code, so they reach the same verdict on the same
notebook. Known limits: names built at run time (``globals()["f"]``, ``getattr(np, "vec" +
"torize")``), a helper called only through a value computed at load time (``g = make()``), and
recursion are not reported.

**Inputs left unchanged.** ``call_with_read_only_inputs(fn, *args)`` calls ``fn`` on copies whose
arrays are read-only *at the buffer level* (``np.frombuffer`` over an immutable ``bytes`` object):
``x[0] = 1``, ``x += 1``, ``np.copyto(x, ...)``, ``x.sort()`` raise ``ValueError`` ("assignment
destination is read-only"), and the flag cannot be set back (``x.flags.writeable = True`` and
``x.setflags(write=True)`` raise, on views and on ``x.base`` too). After the call, lists, dicts
and array shapes are compared with what was passed, so ``config["t"] = 1``, ``S.append(s)`` and
``x.shape = (-1,)`` raise the same ``ValueError``. Raw-memory tricks (``ctypes``, a hand-made
``__array_interface__``) and code that rewrites the checker itself are out of scope.

numpy and the standard library only: this module ships to students and runs in the sandbox.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import linecache
import symtable
import textwrap
from collections import deque
from collections.abc import Callable, Iterable, Sequence

import numpy as np

# ----------------------------------------------------------------------------- rule wording
#: Graded functions that take arrays: the exercise text, the self-check and the suite say this.
RULE_INPUTS = "must not modify its input arrays (work on copies)"
#: Vectorised functions.
RULE_NO_LOOPS = ("no Python loops (for/while, comprehensions, map, np.vectorize, ...) in the "
                 "function or any helper it calls")
#: Functions that solve a linear system (normal equations, Newton steps).
RULE_NO_INVERSE = ("no explicit inverse (np.linalg.inv or np.linalg.pinv): solve the linear "
                   "system with np.linalg.solve")
#: Functions whose result is a floating-point array, also for integer inputs.
RULE_FLOAT_RESULT = "returns floating-point values (also for integer inputs)"
#: Classifiers' predictions.
RULE_INTEGER_LABELS = "returns integer labels (an integer dtype, not floats)"

#: What a ``source_of`` function may return for student code whose text cannot be read.
UNREADABLE = "\0unreadable"

#: The message every read-only violation starts with (numpy's own wording).
READ_ONLY_MESSAGE = "assignment destination is read-only"

# ----------------------------------------------------------------------------- loop finding
_LOOP_NODES = {ast.For: "a `for` loop", ast.AsyncFor: "an `async for` loop",
               ast.While: "a `while` loop", ast.ListComp: "a list comprehension",
               ast.SetComp: "a set comprehension", ast.DictComp: "a dict comprehension",
               ast.GeneratorExp: "a generator expression"}
#: numpy functions that run a Python function once per element/row (matched on the last name,
#: so ``np.vectorize``, ``numpy.vectorize`` and ``from numpy import vectorize`` all count).
_NUMPY_LOOPERS = frozenset({"vectorize", "frompyfunc", "apply_along_axis", "apply_over_axes",
                            "fromiter"})
#: Of these, the ones that return a looping callable (flagged even when called at load time).
_FACTORIES = frozenset({"vectorize", "frompyfunc"})
#: Builtins and standard functions that loop over their argument in Python (matched exactly).
_LOOPING_CALLS = frozenset({"map", "filter", "reduce", "functools.reduce", "starmap",
                            "itertools.starmap", "builtins.map", "builtins.filter"})
_UNREADABLE_CALLS = frozenset({"exec", "eval", "compile", "builtins.exec", "builtins.eval"})
_MAX_UNITS = 500  # a notebook has a few dozen; a bound on the grader's work


def _dotted(node: ast.AST) -> str:
    """"np.linalg.inv" for an attribute chain or name; "" for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _last(dotted: str) -> str:
    return dotted.rsplit(".", 1)[-1]


def _is_looping_call(dotted: str) -> bool:
    return bool(dotted) and (_last(dotted) in _NUMPY_LOOPERS or dotted in _LOOPING_CALLS)


def _loop_phrases(root: ast.AST, first_line: int, load_time: bool) -> list[tuple[int, str]]:
    """(line, phrase) for every loop under ``root``; lines count from ``first_line`` = 1.

    With ``load_time`` (an assignment or import evaluated once, when the cell runs) only what
    makes a *looping callable* counts (``np.vectorize(g)``, an alias of a looping function, an
    import of one) plus everything inside lambdas; a comprehension that builds data does not.
    """
    found: list[tuple[int, str]] = []
    call_funcs: set[int] = set()

    def line(node) -> int:
        return node.lineno - first_line + 1

    def visit(node: ast.AST, in_lambda: bool) -> None:
        full = in_lambda or not load_time
        kind = _LOOP_NODES.get(type(node))
        if kind and full:
            found.append((line(node), f"{kind} on line {line(node)}"))
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            call_funcs.add(id(node.func))
            if name in _UNREADABLE_CALLS and full:
                found.append((line(node), f"a call to `{name}` (code the check cannot read) "
                                          f"on line {line(node)}"))
            elif _is_looping_call(name) and (full or _last(name) in _FACTORIES):
                found.append((line(node), f"a call to `{name}` (a hidden Python loop) on line "
                                          f"{line(node)}"))
        elif isinstance(node, ast.Attribute | ast.Name) and id(node) not in call_funcs:
            name = _dotted(node)
            if name and _last(name) in _NUMPY_LOOPERS and isinstance(node.ctx, ast.Load) and (
                    isinstance(node, ast.Attribute) or name in _NUMPY_LOOPERS):
                found.append((line(node), f"a use of `{name}` (a hidden Python loop) on line "
                                          f"{line(node)}"))
                return  # "np.vectorize" once, not also its "np"
        elif isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                if _last(alias.name) in _NUMPY_LOOPERS | {"reduce", "starmap"}:
                    found.append((line(node), f"an import of `{alias.name}` (a hidden Python "
                                              f"loop) on line {line(node)}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value in _NUMPY_LOOPERS and full:
            found.append((line(node), f"the name `{node.value}` in a string on line "
                                      f"{line(node)}"))
        for child in ast.iter_child_nodes(node):
            visit(child, in_lambda or isinstance(node, ast.Lambda))

    visit(root, False)
    return found


def python_loops(source: str | None) -> list[str]:
    """Describe every Python-level loop in one source text (empty list: no loops).

    Inputs:
    - source: Python source (a function, a class, a cell), or None.
    Returns phrases such as "a `for` loop on line 3" or "a call to `np.vectorize` (a hidden
    Python loop) on line 5", in line order. Finds for/while loops, comprehensions, generator
    expressions and calls that hide a loop (map, filter, functools.reduce, np.vectorize,
    np.frompyfunc, np.apply_along_axis, np.apply_over_axes, np.fromiter), plus exec/eval
    (code the check cannot read). Names are not followed (see ``reachable_loops``). A missing
    source or one that does not parse counts as one problem.
    """
    if source is None:
        return ["no source code was found"]
    try:
        body, shift = _parse_block(source)
    except _Unparsable as problem:
        return [str(problem)]
    found = []
    for statement in body:
        found += _loop_phrases(statement, 1 + shift, load_time=False)
    return [phrase for _, phrase in sorted(found, key=lambda item: item[0])]


# ----------------------------------------------------------------------------- parsing helpers
class _Unparsable(Exception):
    """Source text that is not valid Python (the message is a phrase for students)."""


@functools.lru_cache(maxsize=2048)
def _parse_block(text: str) -> tuple[list[ast.stmt], int]:
    """Statements of ``text`` (possibly indented, e.g. a method); returns (body, line shift).

    Type annotations are dropped (they run when the ``def`` runs, not when the function
    does: ``def f(x: Model)`` does not use ``Model``). Cached: callers must not change the
    returned trees.
    """
    try:
        return _without_annotations(ast.parse(text)).body, 0
    except SyntaxError as error:
        first = error
    except (ValueError, RecursionError, MemoryError) as error:
        raise _Unparsable(f"code that does not parse ({type(error).__name__})") from None
    try:  # an indented block whose strings stop dedent from working
        return _without_annotations(ast.parse("if 1:\n" + text)).body[0].body, 1
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _Unparsable(f"code that does not parse ({first.msg}, line {first.lineno})"
                          ) from None


def _without_annotations(tree: ast.AST) -> ast.AST:
    """Drop type annotations in place (see ``_parse_block``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
        elif isinstance(node, ast.AnnAssign):
            node.annotation = ast.Constant(None)
    return tree


def _statement_text(lines: Sequence[str], node: ast.stmt) -> str:
    """The lines of one statement, decorators included, dedented when possible."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return textwrap.dedent("".join(lines[start - 1:node.end_lineno]))


def _flatten(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements in textual order, descending into if/try/with/for/while/match blocks."""
    for node in body:
        yield node
        blocks = [getattr(node, field, None) or [] for field in
                  ("body", "orelse", "finalbody")] if not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else []
        blocks += [h.body for h in getattr(node, "handlers", [])]
        blocks += [c.body for c in getattr(node, "cases", [])]
        for block in blocks:
            yield from _flatten(block)


def _target_names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for element in target.elts for n in _target_names(element)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def _bound_names(node: ast.stmt) -> list[str]:
    """Names a statement binds at the level where it stands (empty for other statements)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n for target in node.targets for n in _target_names(target)]
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        if isinstance(node, ast.AnnAssign) and node.value is None:
            return []
        return _target_names(node.target)
    if isinstance(node, ast.Import):
        return [a.asname or a.name.split(".")[0] for a in node.names]
    if isinstance(node, ast.ImportFrom):
        return [a.asname or a.name for a in node.names if a.name != "*"]
    return []


def _deleted_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Delete):
        return [n for target in node.targets for n in _target_names(target)]
    return []


def source_lookup(code: str | Sequence[str]) -> Callable[[str], str | None]:
    """A ``source_of`` function over graded code, for ``reachable_loops``.

    Inputs:
    - code: one source text, or a sequence of cell sources run in order (a cell that does
      not parse is skipped, as the grader's worker skips it when it runs the cells).
    Returns ``source_of(name) -> str | None``: the source text of the FINAL top-level binding
    of ``name`` (a ``def`` with its decorators, a ``class``, an assignment statement such as
    ``f = helper`` or ``f = np.vectorize(g)``, an import), dedented; ``"Class.member"`` gives
    a member of the final class of that name. None when the name is not bound (or deleted).
    """
    cells = [code] if isinstance(code, str) else list(code)
    bindings: dict[str, tuple[Sequence[str], ast.stmt] | None] = {}
    for text in cells:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        lines = text.splitlines(keepends=True)
        for node in _flatten(tree.body):
            for name in _deleted_names(node):
                bindings[name] = None
            for name in _bound_names(node):
                bindings[name] = (lines, node)

    @functools.lru_cache(maxsize=4096)
    def source_of(name: str) -> str | None:
        top, dot, member = name.partition(".")
        found = bindings.get(top)
        if found is None:
            return None
        lines, node = found
        if not dot:
            return _statement_text(lines, node)
        if not isinstance(node, ast.ClassDef):
            return None
        result = None
        for sub in _flatten(node.body):
            if member in _bound_names(sub):
                result = _statement_text(lines, sub)
            elif member in _deleted_names(sub):
                result = None
        return result

    return source_of


# ----------------------------------------------------------------------------- reaching names
def _global_references(node: ast.AST) -> frozenset[str]:
    """Names a statement (or lambda) reads from the module level (symtable's scoping rules).
    Computed once per tree node (trees are cached with their text)."""
    cached = getattr(node, "_rules_globals", None)
    if cached is not None:
        return cached
    try:
        table = symtable.symtable(ast.unparse(node), "<unit>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names: set[str] = set()
    pending = [(table, True)]
    while pending:
        current, top = pending.pop()
        for symbol in current.get_symbols():
            if symbol.is_referenced() and (top or symbol.is_global()):
                names.add(symbol.get_name())
        pending += [(child, False) for child in current.get_children()]
    node._rules_globals = frozenset(names)
    return node._rules_globals


def _attributes_used(root: ast.AST) -> set[str]:
    """Attribute names read (``self.helper``) and identifier-like strings (``getattr``)."""
    used = set()
    for node in ast.walk(root):
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value.isidentifier():
            used.add(node.value)
    return used


def _outside_lambdas(root: ast.AST) -> Iterable[ast.AST]:
    pending = [root]
    while pending:
        node = pending.pop()
        yield node
        pending += [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.Lambda)]


def _load_time_references(root: ast.AST) -> tuple[set[str], set[str]]:
    """For a statement run once at load time: (names read as values, names called).

    ``f = g`` and ``f = functools.partial(g, 2)`` read ``g`` (it runs whenever ``f`` does);
    ``X = load()`` only calls ``load`` once, at load time. Inside lambdas every global name
    the lambda reads counts as read.
    """
    nodes = list(_outside_lambdas(root))
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    values = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
              and id(n) not in called}
    calls = {n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for node in ast.walk(root):
        if isinstance(node, ast.Lambda):
            values |= _global_references(node)
    return values, calls


def _is_function(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)


class _Reach:
    """Walks from one name through the student code it reaches; collects phrases.

    A *unit* is one definition's text (a top-level binding, or a member of a student class);
    its line numbers count from its own first line. ``finder(node, first_line, load_time)``
    gives (line, phrase) pairs for one statement.
    """

    def __init__(self, source_of: Callable[[str], str | None], finder):
        self.source_of, self.finder = source_of, finder
        self.phrases: list[str] = []
        self.queue: deque[tuple[str, bool]] = deque()
        self.seen: set[str] = set()
        self.attributes: set[str] = set()
        self.classes: dict[str, dict] = {}  # name -> {"members", "all", "forced", "dunders"}
        self.done_members: set[str] = set()
        self.units = 0

    def _parse(self, label: str, text: str) -> tuple[list[ast.stmt], int] | None:
        if text == UNREADABLE:
            self.phrases.append(f"the code of `{label}` could not be read (define it in a "
                                "notebook cell and run that cell)")
            return None
        try:
            return _parse_block(text)
        except _Unparsable as problem:
            self.phrases.append(f"{problem} in `{label}`")
            return None

    def _report(self, label: str, found: list[tuple[int, str]]) -> None:
        self.phrases += [f"{phrase} of `{label}`"
                         for _, phrase in sorted(found, key=lambda item: item[0])]

    def _follow(self, names: Iterable[str], load_time_call: bool = False) -> None:
        for name in sorted(names):
            self.queue.append((name, load_time_call))

    def _statement(self, label: str, node: ast.stmt, first_line: int) -> None:
        """One function, lambda assignment, alias, import or nested class."""
        if _is_function(node) or isinstance(node, ast.ClassDef):
            self._report(label, self.finder(node, first_line, False))
            self._follow(_global_references(node))
        else:  # run once when the cell runs: only what makes a looping callable counts
            self._report(label, self.finder(node, first_line, True))
            values, calls = _load_time_references(node)
            self._follow(values)
            self._follow(calls - values, load_time_call=True)
        self.attributes |= _attributes_used(node)

    def visit_name(self, name: str, load_time_call: bool = False, root: bool = False) -> None:
        if name in self.seen:
            if name in self.classes and not load_time_call:
                self.classes[name]["dunders"] = True  # the class itself is used
            return
        text = self.source_of(name)
        if text is None:
            self.seen.add(name)
            return
        parsed = self._parse(name, text)
        if parsed is None:
            self.seen.add(name)
            return
        body, shift = parsed
        statements = [s for s in body if name in _bound_names(s)] or body
        if load_time_call and all(_is_function(s) for s in statements):
            return  # `X = load()`: a value made once; `load` may still be reached otherwise
        self.seen.add(name)
        self.units += 1
        for node in statements:
            if isinstance(node, ast.ClassDef):
                self._class(name, text, shift, node, select_all=root)
            else:
                self._statement(name, node, 1 + shift)

    def _class(self, name: str, text: str, shift: int, node: ast.ClassDef,
               select_all: bool) -> None:
        header = [*node.bases, *(k.value for k in node.keywords), *node.decorator_list]
        self._follow({n.id for h in header for n in ast.walk(h) if isinstance(n, ast.Name)})
        lines = (("if 1:\n" + text) if shift else text).splitlines(keepends=True)
        members = {}
        for sub in _flatten(node.body):
            for member in _bound_names(sub):
                members[member] = _statement_text(lines, sub)
        bases = [_dotted(b) for b in node.bases]
        self.classes[name] = {"members": members, "all": select_all, "forced": set(),
                              "dunders": True, "bases": [b for b in bases if b]}

    def _select_members(self) -> bool:
        """Visit the members of reached classes that reached code may use; True if any."""
        progress = False
        for class_name, info in list(self.classes.items()):
            for member, text in info["members"].items():
                label = f"{class_name}.{member}"
                dunder = member.startswith("__") and member.endswith("__")
                wanted = info["all"] or member in info["forced"] or \
                    member in self.attributes or (dunder and info["dunders"])
                if label in self.done_members or not wanted:
                    continue
                self.done_members.add(label)
                progress = True
                self.units += 1
                parsed = self._parse(label, text)
                if parsed is not None:
                    for node in parsed[0]:
                        self._statement(label, node, 1 + parsed[1])
        return progress

    def run(self) -> list[str]:
        while True:
            while self.queue and self.units < _MAX_UNITS:
                self.visit_name(*self.queue.popleft())
            if self.units >= _MAX_UNITS:
                self.phrases.append(f"more than {_MAX_UNITS} definitions to read (the check "
                                    "stopped there)")
                return self.phrases
            if not self._select_members() and not self.queue:
                return self.phrases


def _owner_of(state: _Reach, class_name: str, member: str) -> str | None:
    """The student class that defines ``member`` for ``class_name`` (itself or a base)."""
    pending, checked = [class_name], set()
    while pending:
        current = pending.pop(0)
        if current in checked:
            continue
        checked.add(current)
        state.visit_name(current)
        info = state.classes.get(current)
        if info is None:
            continue
        if member in info["members"]:
            return current
        pending += info["bases"]
    return None


def _reach(name: str, source_of: Callable[[str], str | None], finder) -> list[str]:
    state = _Reach(source_of, finder)
    top, dot, member = name.partition(".")
    if dot:  # a method of an existing instance: its __init__ does not run again
        owner = _owner_of(state, top, member)
        if owner is None:
            return state.phrases or [f"no source code was found for `{name}`"]
        state.classes[owner]["forced"].add(member)
        for info in state.classes.values():
            info["dunders"] = False
    else:
        if source_of(name) is None:
            return [f"no source code was found for `{name}`"]
        state.visit_name(name, root=True)
    return state.run()


def reachable_loops(name: str, source_of: Callable[[str], str | None]) -> list[str]:
    """Loops in the final binding of ``name`` and in all student code it reaches.

    Inputs:
    - name: a top-level function, class or alias ("predict_labels"), or "Class.method".
    - source_of: ``source_of(name) -> str | None``, the source text of each top-level name's
      final binding (``source_lookup(cells)`` on the grader's side, ``live_lookup`` in a
      kernel); None for names the student did not define (numpy, builtins, ...), or
      ``UNREADABLE`` for student code whose text cannot be read.
    Returns phrases naming the definition they are in, e.g. "a `for` loop on line 3 of
    `helper`" (lines count from that definition's first line); empty list = no loops.
    Followed, transitively: every module-level name a function reads (helpers, aliases such as
    ``f = g``, ``functools.partial(g)``, lambdas, student classes it uses), and in student
    classes the methods whose names reached code reads (``self.helper()``) plus special methods
    (``__init__``, ``__call__``, operators). Code run once at load time (``TABLE = [i * i for
    i in range(9)]``) is not a loop of the function, but ``f = np.vectorize(g)`` is.
    """
    return _reach(name, source_of, _loop_phrases)


def reachable_calls(name: str, source_of: Callable[[str], str | None],
                    names: Iterable[str]) -> list[str]:
    """Calls of functions whose last name is in ``names`` (e.g. ``("inv", "pinv")``) in the
    final binding of ``name`` and in all student code it reaches (see ``reachable_loops``).

    Returns phrases such as "`inv` on line 4 of `helper`"; empty list = none found.
    """
    wanted = frozenset(names)

    def finder(root: ast.AST, first_line: int, load_time: bool) -> list[tuple[int, str]]:
        found = []
        called = {id(n.func) for n in ast.walk(root) if isinstance(n, ast.Call)}
        for node in ast.walk(root):
            if isinstance(node, ast.Call):
                dotted = _dotted(node.func)
            elif isinstance(node, ast.Attribute) and id(node) not in called:
                dotted = _dotted(node)  # `solve = np.linalg.inv`
            elif isinstance(node, ast.ImportFrom):  # `from numpy.linalg import inv as solve`
                dotted = next((a.name for a in node.names if a.name in wanted), "")
            else:
                continue
            if dotted and _last(dotted) in wanted and not (
                    load_time and isinstance(node, ast.Call)):
                line = node.lineno - first_line + 1
                found.append((line, f"`{_last(dotted)}` on line {line}"))
        return found

    return _reach(name, source_of, finder)


# ----------------------------------------------------------------------------- live side
_LOOPING_OBJECTS: dict[int, tuple[str, str]] = {}


def _looping_objects() -> dict[int, tuple[str, str]]:
    """id -> (module, name) of the library callables that loop in Python (built once)."""
    if not _LOOPING_OBJECTS:
        for attr in sorted(_NUMPY_LOOPERS):
            if hasattr(np, attr):
                _LOOPING_OBJECTS[id(getattr(np, attr))] = ("numpy", attr)
        _LOOPING_OBJECTS[id(functools.reduce)] = ("functools", "reduce")
        _LOOPING_OBJECTS[id(itertools.starmap)] = ("itertools", "starmap")
        _LOOPING_OBJECTS[id(map)] = ("builtins", "map")
        _LOOPING_OBJECTS[id(filter)] = ("builtins", "filter")
    return _LOOPING_OBJECTS


def _code_of(member) -> object | None:
    for candidate in (member, getattr(member, "__func__", None),
                      getattr(member, "fget", None)):
        code = getattr(candidate, "__code__", None)
        if code is not None:
            return code
    return None


def _class_text(cls: type) -> str:
    """A live class's source: found through its methods' code (works in notebooks, where
    ``inspect.getsource(cls)`` does not), else ``inspect``; UNREADABLE when neither works."""
    for member in vars(cls).values():
        code = _code_of(member)
        if code is None:
            continue
        lines = linecache.getlines(code.co_filename)
        try:
            tree = ast.parse("".join(lines))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        best = None
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__ and \
                    node.lineno <= code.co_firstlineno <= node.end_lineno and \
                    (best is None or node.lineno > best.lineno):
                best = node
        if best is not None:
            return _statement_text(lines, best)
    try:
        return textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        pass
    if not any(_code_of(m) for m in vars(cls).values()):
        return f"class {cls.__name__}:\n    pass\n"  # no code that could loop
    return UNREADABLE


def live_lookup(namespace: dict, extra: dict | None = None) -> Callable[[str], str | None]:
    """``source_of`` over a live namespace (a notebook's globals), for ``reachable_loops``.

    Student code is what the namespace's own cells defined: functions whose ``__globals__`` is
    ``namespace``, classes whose ``__module__`` is its ``__name__``, and values made from them
    (``np.vectorize(f)``, ``functools.partial(f)``, instances of student classes, aliases of
    looping library functions), described by an equivalent one-line assignment. ``extra``
    binds more names (looked up after the namespace), e.g. a function that is not bound there.
    """
    extras: dict[str, object] = dict(extra or {})
    module_name = namespace.get("__name__")

    def is_student_function(obj) -> bool:
        return inspect.isfunction(obj) and obj.__globals__ is namespace

    def is_student_class(obj) -> bool:
        return isinstance(obj, type) and obj.__module__ == module_name

    def ref(obj) -> str:
        for key, value in namespace.items():
            if value is obj and key.isidentifier():
                return key
        for key, value in extras.items():
            if value is obj:
                return key
        key = f"_unbound_{len(extras) + 1}_"
        extras[key] = obj
        return key

    def text_of(name: str, obj) -> str | None:
        if is_student_function(obj):
            try:
                return textwrap.dedent(inspect.getsource(obj))
            except (OSError, TypeError):
                return UNREADABLE
        if is_student_class(obj):
            return _class_text(obj)
        looping = _looping_objects().get(id(obj))
        if looping is not None:
            module, attr = looping
            alias = "" if attr == name else f" as {name}"
            return f"from {module} import {attr}{alias}\n"
        if isinstance(obj, np.vectorize):
            inner = obj.pyfunc
            if is_student_function(inner) and inner.__name__ == name:  # @np.vectorize def
                return text_of(f"_{name}_", inner)
            return f"{name} = np.vectorize({ref(inner)})\n"
        if isinstance(obj, np.ufunc) and "vectorized" in getattr(obj, "__name__", ""):
            return f"{name} = np.frompyfunc(..., {obj.nin}, {obj.nout})\n"
        if isinstance(obj, functools.partial):
            return f"{name} = functools.partial({ref(obj.func)})\n"
        if inspect.ismethod(obj) and is_student_class(type(obj.__self__)):
            return f"{name} = {ref(type(obj.__self__))}().{obj.__func__.__name__}\n"
        if is_student_class(type(obj)):
            return f"{name} = {ref(type(obj))}()\n"
        module, attr = getattr(obj, "__module__", None), getattr(obj, "__name__", None)
        if callable(obj) and isinstance(module, str) and isinstance(attr, str) and \
                attr.isidentifier() and all(p.isidentifier() for p in module.split(".")):
            alias = "" if attr == name else f" as {name}"  # a library function, as imported
            return f"from {module} import {attr}{alias}\n"
        return None

    def source_of(name: str) -> str | None:
        top, dot, member = name.partition(".")
        if top in namespace:
            obj = namespace[top]
        elif top in extras:
            obj = extras[top]
        else:
            return None
        if not dot:
            return text_of(top, obj)
        if not is_student_class(obj):
            return None
        return source_lookup(text_of(top, obj) or "")(name)

    return source_of


def _namespace_of(fn) -> dict:
    for candidate in (fn, getattr(fn, "__func__", None), getattr(fn, "pyfunc", None),
                      getattr(fn, "func", None)):
        found = getattr(candidate, "__globals__", None)
        if isinstance(found, dict):
            return found
    if isinstance(fn, type):
        for member in vars(fn).values():
            code_owner = member if inspect.isfunction(member) else getattr(member, "__func__",
                                                                             None)
            if inspect.isfunction(code_owner):
                return code_owner.__globals__
    return {}


def _live_root(fn) -> tuple[str | None, Callable[[str], str | None]]:
    """(name to start from, source_of) for a live function; name None for library code."""
    namespace = _namespace_of(fn)
    lookup = live_lookup(namespace)
    target = fn.__func__ if inspect.ismethod(fn) else fn
    if inspect.isfunction(target) and "." in target.__qualname__ and \
            "<locals>" not in target.__qualname__:  # a method: start from its class
        owner = namespace.get(target.__qualname__.rsplit(".", 1)[0])
        if isinstance(owner, type):
            class_name = next((k for k, v in namespace.items() if v is owner), None)
            if class_name is not None:
                return f"{class_name}.{target.__name__}", lookup
    name = getattr(fn, "__name__", None)
    if not (isinstance(name, str) and namespace.get(name) is fn):
        name = next((k for k, v in namespace.items() if v is fn and k.isidentifier()), None)
    if name is None:  # not bound at module level (a closure, a partial, a lambda passed in)
        name = "_checked_function_"
        lookup = live_lookup(namespace, {name: fn})
    if lookup(name) is None:
        return None, lookup  # library code (np.add, ...): nothing of the student's
    return name, lookup


def loops_in_function(fn) -> list[str]:
    """``reachable_loops`` for a live function in the student's kernel (self-check side).

    Inputs:
    - fn: the student's function as the notebook defined it (a function, a class, a bound
      method, an ``np.vectorize`` object, a ``functools.partial``, ...).
    Returns the same phrases as ``reachable_loops`` over the notebook's text: the function's
    name is looked up in its module's globals (``fn.__globals__``), so helpers, aliases and
    student classes are followed the same way. Empty list = no loops.
    """
    name, lookup = _live_root(fn)
    return [] if name is None else reachable_loops(name, lookup)


def calls_in_function(fn, names: Iterable[str]) -> list[str]:
    """``reachable_calls`` for a live function (self-check side), e.g.
    ``calls_in_function(fit, ("inv", "pinv"))``; empty list = none found."""
    name, lookup = _live_root(fn)
    return [] if name is None else reachable_calls(name, lookup, names)


# ----------------------------------------------------------------------------- read-only inputs
def _read_only_array(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.hasobject:  # no immutable buffer for object arrays: a flagged copy
        copy = array.copy()
        copy.setflags(write=False)
        return copy
    data = np.ascontiguousarray(array).tobytes()  # an immutable bytes object owns the data
    return np.frombuffer(data, dtype=array.dtype).reshape(array.shape)


def read_only_copy(value):
    """A copy of ``value`` whose arrays are read-only for good.

    Inputs:
    - value: anything; numpy arrays (also inside tuples, lists and dicts, at any depth) are
      copied into arrays over an immutable ``bytes`` buffer, so every write raises
      ``ValueError: assignment destination is read-only`` and ``x.flags.writeable = True``
      raises too (also on views and on ``x.base``). Object arrays get a flagged copy only.
    Returns the same structure: tuples, lists and dicts are new containers of the same type
    (plain ``list``/``dict``); other values (numbers, strings, functions, objects) are
    returned unchanged.
    """
    if isinstance(value, np.ndarray):
        return _read_only_array(value)
    if type(value) is tuple:
        return tuple(read_only_copy(v) for v in value)
    if isinstance(value, list):
        return [read_only_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: read_only_copy(v) for k, v in value.items()}
    return value


def _snapshot(value, path: str, out: list) -> None:
    """Record what an input looks like before the call (identity, contents, array layout)."""
    if isinstance(value, np.ndarray):
        out.append((path, value, (value.shape, value.strides, value.dtype,
                                  value.__array_interface__["data"][0])))
    elif type(value) is tuple:
        for index, item in enumerate(value):
            _snapshot(item, f"{path}[{index}]", out)
    elif isinstance(value, list):
        out.append((path, value, [id(v) for v in value]))
        for index, item in enumerate(list(value)):
            _snapshot(item, f"{path}[{index}]", out)
    elif isinstance(value, dict):
        out.append((path, value, [(k, id(v)) for k, v in value.items()]))
        for key, item in list(value.items()):
            _snapshot(item, f"{path}[{key!r}]", out)


def _changed(record) -> bool:
    _path, value, before = record
    if isinstance(value, np.ndarray):
        now = (value.shape, value.strides, value.dtype, value.__array_interface__["data"][0])
        return now != before or bool(value.flags.writeable)
    if isinstance(value, list):
        return [id(v) for v in value] != before
    return [(k, id(v)) for k, v in value.items()] != before


def call_with_read_only_inputs(fn, /, *args, **kwargs):
    """Call ``fn`` on read-only copies of its arguments (see ``read_only_copy``).

    Inputs:
    - fn: the function to check; args, kwargs: its arguments (never modified themselves).
    Returns what ``fn`` returns. Raises ``ValueError`` whose message starts with "assignment
    destination is read-only" when ``fn`` writes into an input array (numpy raises at the
    write; the traceback still shows the student's line), or when, after the call, an input
    list or dict has different items or an input array a different shape, dtype or buffer
    ("... : argument 2 was changed in place"). Callers add the rule's wording
    (``RULE_INPUTS``) to their message. Any other exception of ``fn`` propagates unchanged.
    """
    args = read_only_copy(tuple(args))
    kwargs = read_only_copy(dict(kwargs))
    records: list = []
    for index, value in enumerate(args):
        _snapshot(value, f"argument {index + 1}", records)
    for key, value in kwargs.items():
        _snapshot(value, f"argument `{key}`", records)
    try:
        result = fn(*args, **kwargs)
    except ValueError as error:
        message = str(error)
        if "read-only" not in message:
            raise
        detail = "" if message == READ_ONLY_MESSAGE else f" ({message[:200]})"
        raise ValueError(f"{READ_ONLY_MESSAGE}{detail}: an input array was written to"
                         ).with_traceback(error.__traceback__) from None
    for record in records:
        if _changed(record):
            raise ValueError(f"{READ_ONLY_MESSAGE}: {record[0]} was changed in place")
    return result


__all__ = ["READ_ONLY_MESSAGE", "RULE_FLOAT_RESULT", "RULE_INPUTS", "RULE_INTEGER_LABELS",
           "RULE_NO_INVERSE", "RULE_NO_LOOPS", "UNREADABLE", "call_with_read_only_inputs",
           "calls_in_function",
           "live_lookup", "loops_in_function", "python_loops", "reachable_calls",
           "reachable_loops", "read_only_copy", "source_lookup"]
