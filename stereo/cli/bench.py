"""`stereo bench`: placeholder until its issue lands (replaced by the owner)."""

from ..errors import StereoError


def register(subparsers):
    p = subparsers.add_parser("bench", help="(not available yet)")
    p.set_defaults(func=run)


def run(args):
    raise StereoError("'stereo bench' is not available yet")
