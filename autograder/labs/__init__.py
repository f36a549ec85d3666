"""One module per lab: its checks, each a function declared with ``@check`` (id, step,
title, points, messages, hint) in the lab's order, listed as ``CHECKS``.

A new lab adds its module here and one entry in :data:`autograder.registry.LABS`;
nothing else in the framework changes.
"""
