"""Instructor commands besides ``grade``, one module each (``python -m autograder NAME ...``).

Every module in this package defines ``add_command(subparsers)``, which adds its sub-parser
and sets ``run=function(args) -> int`` as the parser's default; ``autograder.cli`` finds the
modules here, so a new command needs no change elsewhere.
"""

from __future__ import annotations

import importlib
import pkgutil


def add_all(subparsers) -> None:
    """Register every command module of this package on ``subparsers`` (sorted by name)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.add_command(subparsers)
