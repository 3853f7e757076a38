"""Progress bars for long-running notebook cells (tqdm's notebook-aware bar)."""

from __future__ import annotations

from collections.abc import Iterable

from tqdm.auto import tqdm


def progress(iterable: Iterable, description: str, total: int | None = None, **kwargs):
    """Wrap an iterable in a progress bar labelled ``description``."""
    return tqdm(iterable, desc=description, total=total, leave=True, **kwargs)
