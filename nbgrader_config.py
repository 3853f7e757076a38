"""nbgrader configuration for the course (instructor side).

solutions/<assignment>/<assignment>.ipynb is the source of truth; exercises/ is generated from it
with `python3 course.py exercises` (nbgrader generate_assignment). Student submissions go into
submitted/<student_id>/<assignment>/ as usual.
"""

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.course_id = "dl4cv-basics"
# Student notebooks must still open after nbgrader strips solutions: stubs raise inside bodies.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# nbgrader autograde: the first test cell grades the whole submission with the hidden suite
# (autograder/nbgrader_bridge.py), within the grader's own budget (autograder.limits.time_budget:
# 100 s at most, for code that hangs); a cell stopped earlier than that would score 0 where
# `python -m autograder grade` gives partial credit. nbgrader's default is 30 s per cell.
c.Execute.timeout = 180
