"""Turn a submitted file's bytes into graded cell sources, with bounded memory and time.

    extraction = read_graded_cells(raw, "zip", "01_knn", template)

Everything here runs on untrusted bytes: a zip file (members checked: count, names,
encryption, compression method, declared and actual size, compression ratio), the notebook's
JSON and the cells' Python source (parsed to match cells by the names they define). All of it
runs in a *forked helper process* with an address-space limit (``INTAKE_MEMORY_BYTES`` above
the grading process's own size) and a deadline (``INTAKE_SECONDS``, then SIGKILL): a JSON or
parser bomb costs that child, never the grader. Only the graded sources (capped by
``limits.MAX_CELL_CHARS`` / ``MAX_GRADED_CHARS``) come back, as JSON through a pipe; outputs,
attachments and ungraded cells never leave the child, so they never reach the sandbox.

Every failure becomes ``NotebookProblem`` with a message in words.
"""

from __future__ import annotations

import gc
import io
import json
import os
import resource
import select
import signal
import sys
import time
import zipfile
import zlib

from autograder import limits
from autograder.extract import Extraction, GradedCell, NotebookProblem, extract, parse_notebook
from autograder.safe_text import clean, readable_name

_ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, RuntimeError,
               NotImplementedError, UnicodeDecodeError, ValueError, OSError, KeyError,
               IndexError, OverflowError, TypeError, AttributeError)


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _pick_member(infos: list[zipfile.ZipInfo], assignment: str) -> zipfile.ZipInfo | None:
    notebooks = sorted((i for i in infos if i.filename.endswith(".ipynb") and not i.is_dir()
                        and "__MACOSX" not in i.filename
                        and ".ipynb_checkpoints" not in i.filename),
                       key=lambda i: i.filename)
    for info in notebooks:
        if info.filename.rsplit("/", 1)[-1] == f"{assignment}.ipynb":
            return info
    return notebooks[0] if notebooks else None


def _check_member(info: zipfile.ZipInfo) -> None:
    name = readable_name(info.filename)[:200]
    if info.flag_bits & 0x1:
        raise NotebookProblem(f"`{name}` in the zip file is encrypted (password-protected); "
                              "submit a zip file without a password")
    if info.compress_type not in _ALLOWED_METHODS:
        raise NotebookProblem(f"`{name}` in the zip file uses compression method "
                              f"{info.compress_type}, which is not supported (use a plain "
                              "zip file: stored or deflate)")
    if info.file_size > limits.MAX_FILE_BYTES:
        raise NotebookProblem(f"`{name}` in the zip file is {_mb(info.file_size)}, larger "
                              f"than the {_mb(limits.MAX_FILE_BYTES)} limit")
    if info.file_size > limits.ZIP_RATIO_FLOOR_BYTES and \
            info.file_size > limits.MAX_ZIP_RATIO * max(1, info.compress_size):
        raise NotebookProblem(f"`{name}` in the zip file is compressed more than "
                              f"{limits.MAX_ZIP_RATIO} times (a zip bomb?)")


def notebook_from_zip(data: bytes, assignment: str) -> bytes:
    """The notebook inside a zip file's bytes (the one named like the assignment wins).

    Raises NotebookProblem for a broken, encrypted, oversized or unsupported zip file, or one
    without a notebook. Every error of the zip and zlib modules is caught here.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > limits.MAX_ZIP_MEMBERS:
                raise NotebookProblem(f"the zip file lists {len(infos)} files, more than the "
                                      f"{limits.MAX_ZIP_MEMBERS} accepted")
            info = _pick_member(infos, assignment)
            if info is None:
                raise NotebookProblem("there is no notebook (.ipynb file) in the zip file")
            _check_member(info)
            with archive.open(info) as handle:
                notebook = handle.read(limits.MAX_FILE_BYTES + 1)
    except NotebookProblem:
        raise
    except MemoryError:
        raise NotebookProblem("the zip file needs too much memory to be read") from None
    except _ZIP_ERRORS as error:
        raise NotebookProblem(f"the zip file could not be read ({type(error).__name__}: "
                              f"{clean(error, 300)})") from None
    if len(notebook) > limits.MAX_FILE_BYTES:
        raise NotebookProblem(f"the notebook in the zip file is larger than the "
                              f"{_mb(limits.MAX_FILE_BYTES)} limit")
    return notebook


def graded_cells_in_process(raw: bytes, kind: str, assignment: str,
                            template: list[GradedCell]) -> Extraction:
    """Unzip (``kind == "zip"``), parse and extract in this process (no memory or time
    bound: use ``read_graded_cells``). Raises NotebookProblem."""
    if len(raw) > limits.MAX_FILE_BYTES:
        raise NotebookProblem(f"the file is {_mb(len(raw))}, larger than the "
                              f"{_mb(limits.MAX_FILE_BYTES)} limit")
    notebook = notebook_from_zip(raw, assignment) if kind == "zip" else raw
    return extract(parse_notebook(notebook), template)


# ------------------------------------------------------------------ the limited helper process


def _address_space_now() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as handle:
            pages = int(handle.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _child(write_fd: int, raw: bytes, kind: str, assignment: str, template: list[GradedCell],
           memory_bytes: int, seconds: float) -> None:
    """Runs in the forked child: set limits, extract, write one JSON reply, never return."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
        gc.disable()  # short-lived: no cycles to collect, and millions of containers
        # (a JSON bomb) would make every collection rescan them all
        base = _address_space_now()
        if base is not None:
            limit = base + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        cpu = int(seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        try:
            found = graded_cells_in_process(raw, kind, assignment, template)
            reply = {"cells": [[c.grade_id, c.cell_id, c.source] for c in found.cells],
                     "problems": found.problems}
        except NotebookProblem as error:
            reply = {"problem": str(error)}
        except MemoryError:
            reply = {"problem": "reading the notebook needed more than the "
                                f"{memory_bytes >> 20} MB of memory allowed"}
        except RecursionError:
            reply = {"problem": "the notebook is nested too deeply to be read"}
        except Exception as error:  # noqa: BLE001 - untrusted input; reported in words
            reply = {"problem": f"the notebook could not be read ({type(error).__name__})"}
        payload = json.dumps(reply).encode("utf-8", "surrogatepass")
        view = memoryview(payload)
        while view:
            written = os.write(write_fd, view[:1 << 16])
            view = view[written:]
    except BaseException:  # noqa: BLE001 - the parent reports a missing reply
        pass
    finally:
        os._exit(0)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _collect(read_fd: int, deadline: float, max_bytes: int) -> bytes | None:
    """The child's reply, or None when it is too large or late (the child is then killed)."""
    chunks, total = [], 0
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([read_fd], [], [], wait)[0]:
            return None
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            return None
        chunks.append(chunk)


def _decode_reply(payload: bytes) -> Extraction:
    try:
        reply = json.loads(payload.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        raise NotebookProblem("the notebook could not be read (the reader stopped early: "
                              "the memory or time limit)") from None
    try:
        if "problem" in reply:
            raise NotebookProblem(clean(reply["problem"], limits.MAX_FIELD_CHARS))
        cells = [GradedCell(str(g), str(i), str(s)) for g, i, s in reply["cells"]]
        problems = [str(p) for p in reply["problems"]]
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, NotebookProblem):
            raise
        raise NotebookProblem("the notebook could not be read (malformed reply of the "
                              "reader)") from None
    return Extraction(cells=cells, problems=problems)


def read_graded_cells(raw: bytes, kind: str, assignment: str, template: list[GradedCell],
                      seconds: float = limits.INTAKE_SECONDS,
                      memory_bytes: int = limits.INTAKE_MEMORY_BYTES) -> Extraction:
    """The graded cells of a submitted file, read in a limited helper process.

    Inputs:
    - raw: the file's bytes; kind: "notebook" or "zip"; assignment: its name (picks the
      notebook in a zip file); template: the reference's graded cells.
    - seconds: wall-time deadline (the child is SIGKILLed after it); memory_bytes: address
      space the child may add to the grading process's own size.
    Returns an Extraction (cells capped by ``limits``, problems in words).
    Raises NotebookProblem with a message in words.
    """
    if not hasattr(os, "fork"):  # not Linux/macOS: no helper process, the caps still hold
        return graded_cells_in_process(raw, kind, assignment, template)
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as error:
        os.close(read_fd)
        os.close(write_fd)
        raise OSError(f"the grader could not start its reading process ({error})") from None
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, raw, kind, assignment, template, memory_bytes, seconds)
    os.close(write_fd)
    payload = None
    try:
        payload = _collect(read_fd, time.monotonic() + seconds, limits.MAX_INTAKE_REPLY_BYTES)
    finally:
        os.close(read_fd)
        if payload is None:
            _kill(pid)
        _reap(pid)
    if payload is None:
        raise NotebookProblem(f"reading the notebook took longer than {seconds:g} s (or "
                              "produced too much); it was stopped")
    return _decode_reply(payload)
