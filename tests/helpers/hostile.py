"""Build hostile submissions for the grader's adversarial tests (never used by the grader).

Notebooks:
    with_outputs(base, megabytes)      a notebook whose code cells carry PNG figures and logs
    without_metadata(base)             graded cells without nbgrader metadata or cell ids
    with_extra_cells(base, cells, ...) more cells appended (or prepended)
Zip files (patched at the byte level; Python's zipfile cannot write these):
    zip_of(members)                    a plain zip file's bytes
    encrypted_zip(raw), zip_with_method(raw, method), corrupt_deflate_zip(raw),
    zip_with_member_name(raw, name_bytes)
Disk:
    tree_digest(folder)                hash of a tree WITHOUT following links or reading
                                       FIFOs/devices (their type and target are hashed)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import stat
import struct
import zipfile
from pathlib import Path

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"


def _load(base: Path | bytes) -> dict:
    raw = base if isinstance(base, bytes) else Path(base).read_bytes()
    return json.loads(raw)


def with_outputs(base: Path | bytes, megabytes: float, seed: int = 0) -> bytes:
    """``base`` with figure outputs (random PNG-like base64 payloads) and a long printed log
    on its code cells, ``megabytes`` in total (the sources are unchanged)."""
    nb = _load(base)
    rng = random.Random(seed)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    per_cell = int(megabytes * 2**20 / max(1, len(code)) * 3 / 4 / 2)
    for cell in code:
        payload = base64.b64encode(rng.randbytes(per_cell)).decode("ascii")
        log = "epoch 1: loss 0.5\n" * (per_cell // 18)
        cell["outputs"] = [
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": payload, "text/plain": ["<Figure size 640x480>"]}},
            {"output_type": "stream", "name": "stdout", "text": log},
        ]
    return json.dumps(nb).encode("utf-8")


def without_metadata(base: Path | bytes) -> dict:
    """``base`` as notebook data with no nbgrader metadata and no cell ids anywhere (the
    grader must match graded cells by the names they define)."""
    nb = _load(base)
    for cell in nb["cells"]:
        cell["metadata"] = {}
        cell.pop("id", None)
    return nb


def code_cell(source: str, **nbgrader) -> dict:
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    return {"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [],
            "source": source}


def with_extra_cells(nb: dict, cells: list[dict], first: bool = False) -> bytes:
    nb = dict(nb)
    nb["cells"] = [*cells, *nb["cells"]] if first else [*nb["cells"], *cells]
    return json.dumps(nb).encode("utf-8")


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _headers(raw: bytes, signature: bytes) -> list[int]:
    found, start = [], 0
    while (index := raw.find(signature, start)) != -1:
        found.append(index)
        start = index + 4
    return found


def _patch(raw: bytes, flag_or: int = 0, method: int | None = None) -> bytes:
    data = bytearray(raw)
    for offset in _headers(raw, _LOCAL):      # flags at +6, method at +8
        flags, = struct.unpack_from("<H", data, offset + 6)
        struct.pack_into("<H", data, offset + 6, flags | flag_or)
        if method is not None:
            struct.pack_into("<H", data, offset + 8, method)
    for offset in _headers(raw, _CENTRAL):    # flags at +8, method at +10
        flags, = struct.unpack_from("<H", data, offset + 8)
        struct.pack_into("<H", data, offset + 8, flags | flag_or)
        if method is not None:
            struct.pack_into("<H", data, offset + 10, method)
    return bytes(data)


def encrypted_zip(raw: bytes) -> bytes:
    """The zip file with every member marked encrypted (traditional PKWARE flag)."""
    return _patch(raw, flag_or=0x1)


def zip_with_method(raw: bytes, method: int) -> bytes:
    """The zip file with every member claiming compression ``method`` (99 = AES)."""
    return _patch(raw, method=method)


def corrupt_deflate_zip(raw: bytes) -> bytes:
    """A deflated zip file whose first member's data starts with an invalid block type."""
    data = bytearray(raw)
    offset = _headers(raw, _LOCAL)[0]
    name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_len + extra_len
    data[start:start + 8] = b"\xff" * 8
    return bytes(data)


def zip_with_member_name(raw: bytes, name: bytes) -> bytes:
    """The zip file (one member) with its name bytes replaced by ``name`` (same length) and
    the UTF-8 flag set, so readers must decode ``name`` as UTF-8."""
    data = bytearray(_patch(raw, flag_or=0x800))
    for offset, skip in [(o, 30) for o in _headers(raw, _LOCAL)] + \
                        [(o, 46) for o in _headers(raw, _CENTRAL)]:
        length_at = offset + (26 if skip == 30 else 28)
        length, = struct.unpack_from("<H", data, length_at)
        assert length == len(name), "the new name must have the old name's length"
        data[offset + skip:offset + skip + length] = name
    return bytes(data)


def tree_digest(folder: Path) -> str:
    """A digest of every entry under ``folder`` (names as bytes, types, link targets,
    device numbers, file contents) that never follows a link or opens a FIFO or device."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(os.fsencode(folder), followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            digest.update(os.path.relpath(path, os.fsencode(folder)) + b"\0")
            digest.update(str(stat.S_IFMT(info.st_mode)).encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path))
            elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                digest.update(str(info.st_rdev).encode())
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                        digest.update(chunk)
    return digest.hexdigest()


def grade_job_dying_for_ben(config, student_id, *args):
    """``autograder.remote.grade_job``, except that the grading process dies (os._exit) when
    it is given the student "ben": a stand-in for a grading process killed mid-job."""
    from autograder import remote
    if student_id == "ben":
        os._exit(1)
    return remote.grade_job(config, student_id, *args)
