"""One module per lab: ``CHECKS``, the lab's criteria in step order.

Lab 5 (API Gateway -> SQS -> Lambda) adds ``lab05.py`` and an entry in
``autograder.lab.LABS``; nothing else in the framework changes.
"""
