"""Import a Python file that is not part of an installed package (the scripts in tools/, a
hidden suite's modules) as a module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def module_from_file(path: Path, name: str | None = None) -> ModuleType:
    """Execute the file at ``path`` as a fresh module called ``name`` (default: the file's
    stem) and return it. It is not added to ``sys.modules``."""
    spec = importlib.util.spec_from_file_location(name or Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
