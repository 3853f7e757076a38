"""Read a file that someone else put on disk, without trusting what it is.

    data = read_regular_file(path, limit)                 # trusted path (the reference)
    data = read_regular_file(path, limit, below=root)     # nothing below ``root`` is followed

Only regular files are read: a symbolic link, FIFO, device, socket or folder is refused with
a message in words (``UnsafeFile``), checked with ``lstat`` before opening and ``fstat``
after opening with ``O_NOFOLLOW | O_NONBLOCK`` (so a FIFO cannot block the grader and a link
to ``/dev/zero`` or to ``solutions/`` is never opened). The size is checked before reading and
at most ``limit + 1`` bytes are ever read (a file that grows is caught too).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from autograder.safe_text import readable_name

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CHUNK = 1 << 20


class UnsafeFile(ValueError):
    """The file cannot be read safely; the message says why, in words."""


def describe_kind(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is refused, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "is a symbolic link (links are never followed)"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return "is not a regular file"


def _size_words(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size} bytes"


def _check(mode: int, size: int, name: str, limit: int) -> None:
    why = describe_kind(mode)
    if why is not None:
        raise UnsafeFile(f"`{name}` {why}")
    if size > limit:
        raise UnsafeFile(f"`{name}` is {_size_words(size)}, larger than the "
                         f"{_size_words(limit)} limit")


def _error_words(error: OSError, name: str) -> UnsafeFile:
    if error.errno in (errno.ELOOP, errno.EMLINK):
        return UnsafeFile(f"`{name}` is a symbolic link (links are never followed)")
    if error.errno == errno.ENOTDIR:
        return UnsafeFile(f"a folder on the way to `{name}` is a symbolic link or not a folder")
    return UnsafeFile(f"`{name}` could not be read ({error.strerror or error})")


def _open_below(root: Path, relative: Path, name: str, limit: int) -> int:
    """A read-only descriptor for root/relative, following no link below ``root``."""
    parts = relative.parts
    if not parts or any(p in ("", ".", "..") for p in parts):
        raise UnsafeFile(f"`{name}` is not below the submissions folder")
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = inner
        info = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        _check(info.st_mode, info.st_size, name, limit)  # refuse before opening anything odd
        return os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=fd)
    finally:
        os.close(fd)


def read_regular_file(path: str | Path, limit: int, below: str | Path | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Inputs:
    - path: the file. With ``below``, it must lie under that folder and no link between the
      folder and the file (the file included) is followed.
    - limit: the largest size accepted, bytes.
    Returns the bytes. Raises UnsafeFile (a ValueError) with a message in words.
    """
    path = Path(path)
    name = readable_name(path.name)
    if below is not None and not path.is_relative_to(below):
        raise UnsafeFile(f"`{name}` is not below the submissions folder")
    try:
        if below is not None:
            fd = _open_below(Path(below), path.relative_to(below), name, limit)
        else:
            fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except OSError as error:
        raise _error_words(error, name) from None
    try:
        info = os.fstat(fd)
        _check(info.st_mode, info.st_size, name, limit)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as error:
        raise _error_words(error, name) from None
    finally:
        os.close(fd)
    if total > limit:
        raise UnsafeFile(f"`{name}` is larger than the {_size_words(limit)} limit")
    return b"".join(chunks)
