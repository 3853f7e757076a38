"""Exceptions that hidden suites see when student code misbehaves.

Every failure of the student's side arrives as a ``StudentError`` (or a subclass), never as
the raw exception object: nothing the student raises crosses into the grading process except
its type name and message, as text.

    StudentError          the student's code raised (type_name, message kept)
    +-- MissingDefinition the submission does not define the requested function or class
    +-- StudentTimeout    a call (or the whole submission) ran past its time limit
    +-- WorkerCrashed     the sandboxed worker died (segfault, os._exit, memory limit, ...)
    +-- BadReply          the worker sent something the safe codec refuses (tampered worker,
                          unsupported return type, reply too large)

``GraderError`` is the grader's own failure (bad suite, missing reference): it is *not* the
student's fault and makes the command exit non-zero.
"""

from __future__ import annotations


class StudentError(Exception):
    """An error raised by (or caused by) the student's code.

    Attributes:
    - type_name: str, the name of the exception type raised in the worker ("ValueError").
    - message: str, its message (capped in length).
    """

    def __init__(self, type_name: str, message: str = ""):
        self.type_name = str(type_name)
        self.message = str(message)[:2000]
        super().__init__(f"{self.type_name}: {self.message}" if self.message else self.type_name)


class MissingDefinition(StudentError):
    """The submission does not define the function or class a test asked for."""

    def __init__(self, name: str, message: str = ""):
        self.name = name
        super().__init__("MissingDefinition", message or f"the submission does not define `{name}`")


class StudentTimeout(StudentError):
    """A call took longer than its limit; the worker was killed from outside."""

    def __init__(self, message: str = "the call took too long"):
        super().__init__("Timeout", message)


class WorkerCrashed(StudentError):
    """The sandboxed worker process died while running student code."""

    def __init__(self, message: str = "the worker running your code stopped unexpectedly"):
        super().__init__("WorkerCrashed", message)


class BadReply(StudentError):
    """The worker's reply was refused by the safe codec (wrong type, too large, malformed)."""

    def __init__(self, message: str):
        super().__init__("BadReply", message)


class GraderError(Exception):
    """A failure of the grader itself (suite, reference, configuration): not the student's."""
