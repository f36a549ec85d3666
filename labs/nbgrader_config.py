"""nbgrader configuration for the eventlab course (this folder is the course directory).

The whole workflow, from the course directory (docs/labs.md, Instructors, explains it):

    nbgrader generate_assignment lab01_fanout                 # source/ -> release/
    nbgrader release_assignment lab01_fanout --Exchange.root=/srv/nbgrader/exchange
    #   each learner: nbgrader fetch_assignment / submit lab01_fanout --course=eventlab
    nbgrader collect lab01_fanout --Exchange.root=/srv/nbgrader/exchange
    nbgrader autograde lab01_fanout                           # submitted/ -> autograded/
    python -m autograder.nbgrader_guard . lab01_fanout        # exit 1 names each problem
    nbgrader generate_feedback lab01_fanout                   # feedback/<student>/...html
    nbgrader export                                           # grades.csv

The checks live in the `autograder` package: it must be importable where nbgrader and
the kernels run (pip install -e . from the project root).  Beyond nbgrader's defaults:

- autograde never lets one learner's notebook stop the class: a copied graded cell (a
  duplicate grade_id) or a made-up grade_id no longer aborts the run or refuses the
  notebook (autograder/nbgrader_preprocessors.py); the guard reports both;
- feedback hides the hidden tests' source and the server's paths (nbgrader issue 917);
- nbgrader's log goes to .nbgrader.log beside this file, where the guard finds why a
  notebook was not graded (a kernel that died, a file that is not a notebook).

nbgrader computes scores inside the learner's kernel, so learner code could in principle
change its own verdict there; `eventlab grade` runs the checks out of process.
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821

c.CourseDirectory.course_id = "eventlab"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.NbGrader.logfile = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".nbgrader.log")

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

# nbgrader's sanitizing steps, with two replaced (import strings: loaded only here).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "autograder.nbgrader_preprocessors.DropDuplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograder.nbgrader_preprocessors.DropUnknownGradeIds",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.nbgrader_preprocessors.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
