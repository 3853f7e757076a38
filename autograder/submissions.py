"""Find the submissions to grade: nbgrader's tree, a folder of notebooks, or a folder of zips.

    submitted/<student_id>/<assignment>/*.ipynb    (nbgrader's layout; give submitted/ or the
                                                     course root that holds it)
    <folder>/<student_id>.ipynb
    <folder>/<student_id>.zip                       (holding one notebook; the one named like
                                                     the assignment wins if there are several)
    path/to/one.ipynb                               (one student: the file's stem)

Files are only read, never modified. Zip members are read with a size cap (zip bombs).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_MEMBER_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Submission:
    """One student's notebook: where it comes from and how to read its bytes."""

    student_id: str
    path: Path
    member: str | None = None  # the notebook's name inside a zip file

    def read_bytes(self) -> bytes:
        """The notebook's bytes. Raises ValueError (message in words) if unreadable."""
        if self.member is None:
            return self.path.read_bytes()
        try:
            with zipfile.ZipFile(self.path) as archive:
                info = archive.getinfo(self.member)
                if info.file_size > MAX_MEMBER_BYTES:
                    raise ValueError(f"{self.member} in the zip file is too large")
                with archive.open(info) as handle:
                    data = handle.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, KeyError, OSError) as error:
            raise ValueError(f"the zip file could not be read ({error})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise ValueError(f"{self.member} in the zip file is too large")
        return data

    def describe(self) -> str:
        return f"{self.path}" + (f"!{self.member}" if self.member else "")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pick_notebook(names: list[str], assignment: str) -> str | None:
    notebooks = sorted(n for n in names if n.endswith(".ipynb") and "__MACOSX" not in n
                       and ".ipynb_checkpoints" not in n)
    for name in notebooks:
        if Path(name).name == f"{assignment}.ipynb":
            return name
    return notebooks[0] if notebooks else None


def _zip_submission(path: Path, assignment: str) -> Submission:
    try:
        with zipfile.ZipFile(path) as archive:
            member = _pick_notebook(archive.namelist(), assignment)
    except (zipfile.BadZipFile, OSError):
        member = None
    # A broken zip or one without a notebook still gets a row (with a message, score 0).
    return Submission(path.stem, path, member or "<no notebook in the zip file>")


def discover(root: str | Path, assignment: str) -> list[Submission]:
    """All submissions under ``root`` for ``assignment``, sorted by student id.

    Raises FileNotFoundError when ``root`` does not exist, ValueError when nothing is found
    or a student id appears twice.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no such file or folder: {root}")
    if root.is_file():
        if root.suffix == ".zip":
            return [_zip_submission(root, assignment)]
        return [Submission(root.stem, root)]
    if (root / "submitted").is_dir():
        root = root / "submitted"
    found: list[Submission] = []
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        folder = student_dir / assignment
        if folder.is_dir():
            name = _pick_notebook([p.name for p in folder.iterdir()], assignment)
            if name is not None:
                found.append(Submission(student_dir.name, folder / name))
    for path in sorted(root.iterdir()):
        if path.is_file() and path.suffix == ".ipynb":
            found.append(Submission(path.stem, path))
        elif path.is_file() and path.suffix == ".zip":
            found.append(_zip_submission(path, assignment))
    if not found:
        raise ValueError(f"no submissions for {assignment} found in {root} (expected "
                         f"<student>/{assignment}/*.ipynb, <student>.ipynb or <student>.zip)")
    ids = [s.student_id for s in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"student ids found twice: {', '.join(duplicates)}")
    return sorted(found, key=lambda s: s.student_id)
