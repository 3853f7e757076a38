"""Execute notebooks headless and report the errors of each cell."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient


@dataclass(frozen=True)
class CellError:
    index: int
    ename: str
    evalue: str

    def __str__(self) -> str:
        return f"cell {self.index}: {self.ename}: {self.evalue[:300]}"


def execute(path: Path, timeout: int = 900) -> tuple[nbformat.NotebookNode, list[CellError]]:
    """Run every cell of the notebook at ``path`` (in its own folder) and collect the errors.

    Execution goes on after an error (like "Run All" with errors allowed), so every failing
    cell is reported, not only the first. The notebook file is not modified.
    """
    nb = nbformat.read(path, as_version=4)
    env_backend = os.environ.pop("MPLBACKEND", None)  # let the kernel use the inline backend
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend
    errors = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(CellError(index, output["ename"], output["evalue"]))
    return nb, errors


def stream_text(nb: nbformat.NotebookNode) -> str:
    """All printed text of an executed notebook, for checking self-check summaries."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
    return "".join(parts)
