"""Evaluation: datasets with ground truth, accuracy metrics, alignment and benchmark reports.

Modules: :mod:`.metrics` (disparity and depth errors; Middlebury and KITTI rules),
:mod:`.align` (scale / scale-and-shift fits in inverse-depth space, robust option),
:mod:`.middlebury` (MiddEval3 scene folders, resolution factor, official weights),
:mod:`.kitti` (KITTI-layout folders), :mod:`.datasets` (layout detection for the bench),
:mod:`.bench` (the ``stereo bench`` runner and its reports), :mod:`.evaluate` (``stereo
eval``: any map against ground truth) and :mod:`.mapio` (reading maps in any format).
Pixel units are always stated: native pixels of the data, or official full-resolution
MiddEval3 pixels where a report says so.
"""
