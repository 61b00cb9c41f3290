"""Where results go beyond the per-pair files of ``stereo.cli.outputs``: ROS bags (:mod:`.bag`)."""
