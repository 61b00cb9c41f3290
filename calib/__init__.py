"""Stereo calibration: the rectified-pair model, calibration files and rectification."""

from .model import StereoCalibration, UNIT_TO_METRES
from .middlebury import parse_middlebury_calib, read_middlebury_calib, write_middlebury_calib
from .model_yaml import load_calibration_yaml, save_calibration_yaml

__all__ = ["StereoCalibration", "UNIT_TO_METRES"]
__all__ += ["parse_middlebury_calib", "read_middlebury_calib", "write_middlebury_calib",
            "load_calibration_yaml", "save_calibration_yaml"]
from .units import parse_length
from .rig import StereoRig
from .chessboard import Board
from .calibrate import CalibrationOptions, CalibrationReport, calibrate_stereo
from .rectify import Rectifier, prepare_pair, rectify_pair
from .formats import load_calibration
from .uncalibrated import UncalibratedRectification, rectify_uncalibrated

__all__ += ["parse_length", "StereoRig", "Board", "CalibrationOptions", "CalibrationReport",
            "calibrate_stereo", "Rectifier", "prepare_pair", "rectify_pair", "load_calibration",
            "UncalibratedRectification", "rectify_uncalibrated"]
