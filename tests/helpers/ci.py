"""What a test does when something it needs is missing: on a developer's machine it skips,
under CI (``CI`` set, as ``.ci/run`` sets it) it fails, so CI never passes a check it skipped."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """True when the environment variable CI is set to anything but "", 0, false or no."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def skip_or_fail(reason: str, ci_detail: str = "") -> None:
    """Fail with ``reason + ci_detail`` under CI; skip with ``reason`` elsewhere."""
    if in_ci():
        pytest.fail(reason + ci_detail)
    pytest.skip(reason)
