"""Scenario quizzes for SAP-C02 integration and streaming (issue 8).

- :mod:`quizzes.parser`, :mod:`quizzes.model`: one Markdown question file -> a ``Question``
- :mod:`quizzes.validate`, :mod:`quizzes.links`, :mod:`quizzes.tags`: ``eventlab quiz validate``
- :mod:`quizzes.bank`: the bank for the runner, cached by file mtimes
- :mod:`quizzes.session`: filters, answers, the exam's draw, timer and scaled score
- :mod:`quizzes.store`: progress in SQLite (attempts, FSRS cards, flags, exams)
- :mod:`quizzes.runner`, :mod:`quizzes.stats` (and :mod:`eventlab.cli.quiz`): ``eventlab quiz``
- :mod:`quizzes.widget`: ``QuizWidget`` and ``quiz_for`` for JupyterLab

Nothing here imports the sandbox, moto or boto3.  Usage: docs/quiz.md.
"""
