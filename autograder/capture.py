"""Where the sandboxed child's stdout and stderr go: a small file in memory, never on disk.

The child gets this file as its descriptors 1 and 2. A file on the host's disk (a
``tempfile.TemporaryFile``) could be extended by the child far beyond what it wrote:
``fallocate(1, FALLOC_FL_KEEP_SIZE, 0, 100 GB)`` reserves disk blocks without changing the
file's size, which RLIMIT_FSIZE does not check on ordinary file systems. Here the file is a
memfd (tmpfs, no disk), where the kernel checks RLIMIT_FSIZE for every write, truncate and
fallocate (keep-size included), so the child's ``max_file_bytes`` caps it; its pages are
charged to the child's memory cgroup and freed when the session closes. The grading
process only ever reads the first ``limit`` bytes back (shown as feedback, never graded).
Without memfd (not Linux) a temporary file is the fallback.
"""

from __future__ import annotations

import os
import tempfile


class OutputCapture:
    """A memory-backed file for one session's printed output."""

    def __init__(self):
        if hasattr(os, "memfd_create"):
            self._fd = os.memfd_create("autograder-output", os.MFD_CLOEXEC)
            self._file = None
        else:
            self._file = tempfile.TemporaryFile()
            self._fd = self._file.fileno()

    def fileno(self) -> int:
        return self._fd

    def read(self, limit: int) -> bytes:
        """The first ``limit`` bytes written (fewer if less was written)."""
        return os.pread(self._fd, limit, 0)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        elif self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
