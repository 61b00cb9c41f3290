"""File input/output: images, PFM, KITTI disparity PNG, NPY disparities and PLY clouds.

In memory, disparities are float32 with NaN = invalid; on disk each format keeps its
own convention (``inf`` in PFM, 0 in KITTI PNG). Every writer is atomic (the file
appears complete or not at all) and never modifies its input.
"""

from .atomic import atomic_path, staged_directory
from .disparity import DISPARITY_EXTENSIONS, read_disparity, write_disparity
from .images import read_image, write_image
from .kitti import read_kitti_disparity, write_kitti_disparity
from .pair_outputs import PAIR_OUTPUT_NAMES, check_output_dir, write_pair_outputs
from .pfm import read_pfm, write_pfm
from .ply import read_ply, write_ply

__all__ = [
    "atomic_path", "staged_directory", "read_image", "write_image", "read_pfm", "write_pfm",
    "read_disparity", "write_disparity", "DISPARITY_EXTENSIONS", "read_kitti_disparity",
    "write_kitti_disparity", "read_ply", "write_ply", "write_pair_outputs", "check_output_dir",
    "PAIR_OUTPUT_NAMES",
]
