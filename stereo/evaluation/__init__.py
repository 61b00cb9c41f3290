"""Evaluation: datasets with ground truth, accuracy metrics and benchmark reports.

Modules: :mod:`.metrics` (disparity and depth errors, Middlebury rules, alignment),
:mod:`.middlebury` (MiddEval3 scene folders), :mod:`.bench` (the ``stereo bench`` runner
and its reports).
"""
