"""Execute notebooks headless and report the errors of each cell."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient


@dataclass(frozen=True)
class CellError:
    index: int
    ename: str
    evalue: str

    def __str__(self) -> str:
        return f"cell {self.index}: {self.ename}: {self.evalue[:300]}"


def run_cells(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 900,
              record_timing: bool = False) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in place in a fresh python3 kernel started in ``cwd``.

    Execution goes on after an error (like "Run All" with errors allowed). The kernel talks
    over IPC sockets in a scratch folder: with TCP, kernels started at the same moment by
    parallel test processes can pick the same free ports, and a client then waits forever.
    """
    backend = os.environ.pop("MPLBACKEND", None)  # let the kernel use the inline backend
    try:
        with tempfile.TemporaryDirectory(prefix="course-kernel-") as sockets:
            manager = KernelManager(kernel_name="python3", transport="ipc",
                                    connection_file=str(Path(sockets) / "kernel.json"))
            NotebookClient(nb, km=manager, timeout=timeout, allow_errors=True,
                           record_timing=record_timing,
                           resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    return nb


def execute(path: Path, timeout: int = 900) -> tuple[nbformat.NotebookNode, list[CellError]]:
    """Run every cell of the notebook at ``path`` (in its own folder) and collect the errors,
    every failing cell, not only the first. The notebook file is not modified."""
    nb = run_cells(nbformat.read(path, as_version=4), path.parent, timeout)
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
