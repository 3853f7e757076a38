"""The course's sandboxed autograder.

Hidden pytest suites (``autograder/suites/<assignment>/``) compare a student's graded cells,
running in a sandboxed worker process, with the reference solution's graded cells, running
in the grading process. See ``autograder/README.md`` for the command, outputs and guarantees.
"""

__version__ = "1.0.0"
