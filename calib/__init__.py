"""Stereo calibration: the rectified-pair model, calibration files and rectification."""

from .model import StereoCalibration, UNIT_TO_METRES
from .middlebury import parse_middlebury_calib, read_middlebury_calib, write_middlebury_calib
from .model_yaml import load_calibration_yaml, save_calibration_yaml

__all__ = ["StereoCalibration", "UNIT_TO_METRES"]
__all__ += ["parse_middlebury_calib", "read_middlebury_calib", "write_middlebury_calib",
            "load_calibration_yaml", "save_calibration_yaml"]
