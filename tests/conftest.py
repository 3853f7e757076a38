"""Shared fixtures and discovery for the project's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def solution_notebooks() -> list[Path]:
    return sorted(ROOT.glob("solutions/*/*.ipynb"))


def exercise_notebooks() -> list[Path]:
    return sorted(ROOT.glob("exercises/*/*.ipynb"))


def lecture_notebooks() -> list[Path]:
    return sorted(ROOT.glob("lectures/*.ipynb"))


def all_committed_notebooks() -> list[Path]:
    skip = {".venv", "dist", "build", ".ipynb_checkpoints"}
    return sorted(p for p in ROOT.rglob("*.ipynb") if not skip & set(p.relative_to(ROOT).parts))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
