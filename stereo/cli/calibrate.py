"""`stereo calibrate`: placeholder until its issue lands (replaced by the owner)."""

from ..errors import StereoError


def register(subparsers):
    p = subparsers.add_parser("calibrate", help="(not available yet)")
    p.set_defaults(func=run)


def run(args):
    raise StereoError("'stereo calibrate' is not available yet")
