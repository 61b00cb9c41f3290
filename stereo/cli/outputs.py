"""Write the files of one matched pair, all or nothing (moved to :mod:`stereo.io.pair_outputs`)."""

from ..io.pair_outputs import PAIR_OUTPUT_NAMES, check_output_dir, write_pair_outputs  # noqa: F401
