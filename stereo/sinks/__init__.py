"""Where results go beyond the per-pair files of ``stereo.io.pair_outputs``: ROS bags (:mod:`.bag`)."""
