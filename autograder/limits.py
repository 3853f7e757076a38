"""Every bound the grader puts on work it does for one submission (numbers in one place).

Sizes are bytes (files) or characters (text); times are seconds of wall time. The same file
and cell limits apply to the reference notebook (a reference over them is a grader error).

Reading (``submissions``, ``intake``):
- MAX_FILE_BYTES: a submitted notebook or zip file, and a notebook inside a zip file.
- MAX_ZIP_MEMBERS, MAX_ZIP_RATIO: members listed in a zip file; uncompressed size divided by
  compressed size for a member larger than ZIP_RATIO_FLOOR_BYTES.
Parsing (``extract``, in a forked helper process with INTAKE_MEMORY_BYTES and INTAKE_SECONDS):
- MAX_CELLS: cells of a notebook considered (later cells are ignored, with a note).
- MAX_CELL_CHARS: one graded cell's source (a larger cell is not graded, with a note);
  cells larger than this are never parsed (not even to match them by the names they define).
- MAX_GRADED_CHARS: all graded sources of one submission together.
Reports (``grading``, ``reports``):
- MAX_TEST_OUTPUT_CHARS: one test's message; MAX_NOTES_CHARS: the notes; MAX_NOTES: how many;
  MAX_PRINTED_CHARS: what the code printed; MAX_FIELD_CHARS: any other string;
  MAX_RESULTS_BYTES: a results.json file (messages are shortened further to fit).
Time: one submission's wall time is at most INTAKE_SECONDS (reading and parsing, killed at
the deadline) + the sandbox's submission timeout (every call into student code, 60 s by
default) + GRADER_ALLOWANCE_SECONDS (the suite's own checks in the grading process; tests
that would start after the total budget are failed with a message instead of run).
"""

from __future__ import annotations

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ZIP_MEMBERS = 1000
MAX_ZIP_RATIO = 200
# Smaller members get only the size caps: a long, repetitive log compresses very well.
ZIP_RATIO_FLOOR_BYTES = 8 * 1024 * 1024

MAX_CELLS = 10_000
MAX_CELL_CHARS = 64 * 1024
MAX_GRADED_CHARS = 256 * 1024

INTAKE_SECONDS = 10.0
INTAKE_MEMORY_BYTES = 512 * 1024 * 1024
MAX_INTAKE_REPLY_BYTES = 4 * 1024 * 1024

MAX_TEST_OUTPUT_CHARS = 4000
MAX_NOTES = 50
MAX_NOTES_CHARS = 8000
MAX_PRINTED_CHARS = 4000
MAX_FIELD_CHARS = 1000
MAX_RESULTS_BYTES = 1024 * 1024

GRADER_ALLOWANCE_SECONDS = 30.0


def time_budget(submission_timeout: float) -> float:
    """Seconds one submission may take end to end (reading, student code, the suite)."""
    return INTAKE_SECONDS + float(submission_timeout) + GRADER_ALLOWANCE_SECONDS
