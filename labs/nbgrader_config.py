"""nbgrader configuration for the eventlab course (this folder is the course directory).

    cd labs
    nbgrader generate_assignment lab01_fanout     # release/ (what `python -m labs.make` does in a temp dir)
    nbgrader autograde lab01_fanout               # submitted/<student>/lab01_fanout/*.ipynb
    nbgrader generate_feedback lab01_fanout

The checks live in the `autograder` package: it must be importable where the kernels run
(pip install -e . from the project root).  After autograde, run
`python -m autograder.nbgrader_guard autograded/` to catch nbgrader's silent failures.
"""

c = get_config()  # type: ignore[name-defined]  # noqa: F821

c.CourseDirectory.course_id = "eventlab"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# A lab runs Lambda handlers and advances a virtual clock: allow it time, and never
# let one stuck cell hang a whole class's grading.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# Without stored widget state, feedback HTML shows each checklist's static table (its
# text/html form) instead of an empty widget placeholder.
c.Execute.store_widget_state = False

# Learners' copies keep our markers out: solutions become "YOUR CODE HERE".
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True
