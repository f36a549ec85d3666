"""Generator of the lab notebooks (``python -m labs.make``).

Each lab is written here as a list of cells in plain Python (reviewable in diffs);
``notebook.py`` turns it into ``labs/source/<lab>/<lab>.ipynb`` with nbgrader metadata,
then runs nbgrader's ``generate_assignment`` in a temporary course directory and copies
the learner's copy to ``labs/learner/<lab>/<lab>.ipynb``.
"""
