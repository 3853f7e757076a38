"""Provided code inside a graded cell: ``evaluate_expression`` in 05's Value cell,
``load_weights`` and ``evaluate_model`` in its MLP cell. The grader reaches the student's
classes only through that code, so it must still be the code the exercise gave, and the
student's cells must not shadow a name it reads. One check serves the visible self-checks and
the hidden suites (same verdict, same words).
"""

from __future__ import annotations

import ast
import functools
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@functools.lru_cache(maxsize=64)
def syntax_without_docstrings(source: str | None) -> str | None:
    """``ast.dump`` of ``source`` with every docstring removed (None if it does not parse)."""
    if source is None:
        return None
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def free_names(source: str) -> set[str]:
    """Names a function reads without binding them itself (builtins and globals)."""
    tree = ast.parse(textwrap.dedent(source))
    bound = {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    bound |= {node.id for node in ast.walk(tree)
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    bound |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - bound


@dataclass(frozen=True, eq=False)
class ProvidedCode:
    """The provided functions of one graded cell.

    Attributes:
    - sources: {function name: its provided source, docstring left out}, in the order the
      functions are checked.
    - cell: the graded cell that holds them ("Value").
    - tested: what the grader tests through them ("Value").
    - user: the provided function named when a student's name shadows one they read.
    - own_names: names the student's cells define on purpose (the classes the code calls).
    """

    sources: Mapping[str, str]
    cell: str
    tested: str
    user: str
    own_names: frozenset[str]

    @functools.cached_property
    def _syntax(self) -> dict[str, str | None]:
        return {name: syntax_without_docstrings(source) for name, source in self.sources.items()}

    @functools.cached_property
    def _free_names(self) -> tuple[str, ...]:
        names = set().union(*(free_names(source) for source in self.sources.values()))
        return tuple(sorted(names - self.own_names - set(self.sources)))

    def problem(self, source_of: Callable[[str], str | None],
                defined: Callable[[str], bool]) -> str | None:
        """Why the notebook's copies are not the provided code, or None.

        Inputs:
        - source_of: ``source_of(name)`` is the source text of the notebook's ``name`` (None
          if missing).
        - defined: ``defined(name)`` is True when the student's cells define ``name``.
        """
        for name in self.sources:
            source = source_of(name)
            if source is None:
                return (f"the provided function `{name}` is missing from the {self.cell} cell; "
                        f"restore it (the grader tests {self.tested} through it)")
            if syntax_without_docstrings(source) != self._syntax[name]:
                return (f"the provided function `{name}` was changed; restore it from a fresh "
                        f"copy of the exercise (the grader tests {self.tested} through it)")
        redefined = [n for n in self._free_names if defined(n)]
        if redefined:
            return ("your cells redefine " + ", ".join(f"`{n}`" for n in redefined) + ", which "
                    f"the provided `{self.user}` uses; rename yours")
        return None
