"""eventlab: offline labs, autograders and quizzes for AWS integration and streaming.

The local AWS lives in :mod:`eventlab.sandbox`; the command line in :mod:`eventlab.cli`.
"""

__version__ = "0.1.0"
