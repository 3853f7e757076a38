"""Find the submissions to grade: nbgrader's tree, a folder of notebooks, or a folder of zips.

    submitted/<student_id>/<assignment>/*.ipynb    (nbgrader's layout; give submitted/ or the
                                                     course root that holds it)
    <folder>/<student_id>.ipynb
    <folder>/<student_id>.zip                       (holding one notebook; the one named like
                                                     the assignment wins if there are several)
    path/to/one.ipynb                               (one student: the file's stem)

Every candidate found gets a ``Submission`` (hence a row), even one that cannot be read: a
symbolic link, FIFO or device, a folder without a notebook. Nothing below the submissions
folder is followed through a link. Student ids are made from the names (``safe_text.safe_id``:
letters, digits and ``._@+-``) and made unique with ``~2``, ``~3``... (the original name is
kept in ``original_name``). Files are only read (``read_raw``), never modified; zip files
are opened later, in the grading process's limited reader (``autograder.intake``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from autograder import limits
from autograder.safe_files import describe_kind, read_regular_file
from autograder.safe_text import readable_name, safe_id, unique_ids

SUFFIXES = {".ipynb": "notebook", ".zip": "zip"}


@dataclass(frozen=True)
class Submission:
    """One student's submitted file and how to read it.

    - student_id: the sanitised, unique id (folder names, seeds, rows).
    - path: the notebook or zip file.
    - kind: "notebook" or "zip" ("" = from the file's suffix).
    - original_name: the file or folder name the id was made from, as readable text.
    - problem: why the submission cannot be read (found at discovery), or None.
    - root: the submissions folder; no link below it is followed (None: the path is trusted).
    """

    student_id: str
    path: Path
    kind: str = ""
    original_name: str = ""
    problem: str | None = None
    root: Path | None = None

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", "zip" if Path(self.path).suffix == ".zip"
                               else "notebook")
        if not self.original_name:
            object.__setattr__(self, "original_name", readable_name(Path(self.path).name))

    def read_raw(self) -> bytes:
        """The file's bytes (notebook or zip). Raises ValueError with a message in words."""
        if self.problem is not None:
            raise ValueError(self.problem)
        return read_regular_file(self.path, limits.MAX_FILE_BYTES, below=self.root)

    def describe(self) -> str:
        """Where the submission comes from, as readable text."""
        return readable_name(os.fsencode(self.path))

    def timestamp_path(self) -> Path | None:
        """nbgrader's ``timestamp.txt`` beside the notebook in ``submitted/<student>/
        <assignment>/`` (None for other layouts). Only a path: read it defensively, below
        ``root`` (``autograder.late``)."""
        if self.root is None or self.kind != "notebook":
            return None
        try:
            relative = Path(self.path).relative_to(self.root)
        except ValueError:
            return None
        return Path(self.path).parent / "timestamp.txt" if len(relative.parts) == 3 else None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_of(raw: bytes | None, problem: str | None) -> str:
    """What identifies a submission's content for resuming: the sha256 of its bytes, or of
    the reason it could not be read (so an unchanged refusal is not regraded either)."""
    if raw is not None:
        return sha256_of(raw)
    return "refused:" + sha256_of(str(problem).encode("utf-8", "surrogatepass"))


def _kind_of(name: str) -> str | None:
    for suffix, kind in SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    return None


def _stem(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def _lstat_mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def _names(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:
        return sorted((e.name for e in entries), key=os.fsencode)


def _pick_notebook(names: list[str], assignment: str) -> str | None:
    notebooks = sorted((n for n in names if n.endswith(".ipynb") and "__MACOSX" not in n
                        and ".ipynb_checkpoints" not in n), key=os.fsencode)
    for name in notebooks:
        if Path(name).name == f"{assignment}.ipynb":
            return name
    return notebooks[0] if notebooks else None


@dataclass
class _Candidate:
    id_source: str          # the name the student id is made from
    path: Path
    kind: str
    original: str
    problem: str | None = None


def _student_folder(root: Path, name: str, assignment: str) -> _Candidate | None:
    """nbgrader's submitted/<name>/<assignment>/ (None when the folder is not a submission)."""
    folder = root / name / assignment
    mode = _lstat_mode(folder)
    original = readable_name(name)
    if mode is None:
        return None
    where = f"{original}/{assignment}"
    if not stat.S_ISDIR(mode):
        why = describe_kind(mode)
        return _Candidate(name, folder, "notebook", original, f"`{where}` {why}")
    try:
        notebook = _pick_notebook(_names(folder), assignment)
    except OSError as error:
        return _Candidate(name, folder, "notebook", original,
                          f"`{where}` could not be listed ({error.strerror})")
    if notebook is None:
        return _Candidate(name, folder, "notebook", original,
                          f"no notebook (.ipynb file) in `{where}`")
    return _Candidate(name, folder / notebook, "notebook", original)


def _candidates(root: Path, assignment: str) -> list[_Candidate]:
    nbgrader_layout = root.name == "submitted"
    found: list[_Candidate] = []
    for name in _names(root):
        path = root / name
        mode = _lstat_mode(path)
        if mode is None:
            continue
        kind = _kind_of(name)
        if stat.S_ISDIR(mode):
            candidate = _student_folder(root, name, assignment)
            if candidate is not None:
                found.append(candidate)
        elif kind is not None:  # <id>.ipynb or <id>.zip: read (and checked) later
            found.append(_Candidate(_stem(name), path, kind, readable_name(name)))
        elif stat.S_ISLNK(mode) and nbgrader_layout:
            original = readable_name(name)
            found.append(_Candidate(name, path, "notebook", original,
                                    f"`{original}` is a symbolic link (links are never "
                                    "followed)"))
    return found


def discover(root: str | Path, assignment: str) -> list[Submission]:
    """All submissions under ``root`` for ``assignment``, sorted by student id.

    Inputs: ``root`` as given by the instructor (trusted; may itself be a link), the
    assignment's name. Returns one Submission per candidate, ids unique.
    Raises FileNotFoundError when ``root`` does not exist, ValueError when nothing is found.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no such file or folder: {root}")
    if not root.is_dir():
        name = readable_name(root.name)
        return [Submission(safe_id(_stem(root.name)), root, _kind_of(root.name) or "notebook",
                           name)]
    if (root / "submitted").is_dir():
        root = root / "submitted"
    candidates = _candidates(root, assignment)
    if not candidates:
        raise ValueError(f"no submissions for {assignment} found in {root} (expected "
                         f"<student>/{assignment}/*.ipynb, <student>.ipynb or <student>.zip)")
    ids = unique_ids([c.id_source for c in candidates])
    found = [Submission(student_id, c.path, c.kind, c.original, c.problem, root)
             for student_id, c in zip(ids, candidates, strict=True)]
    return sorted(found, key=lambda s: s.student_id)
