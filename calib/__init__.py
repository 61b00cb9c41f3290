"""Stereo calibration: the rectified-pair model, calibration files and rectification."""

from .model import StereoCalibration, UNIT_TO_METRES

__all__ = ["StereoCalibration", "UNIT_TO_METRES"]
