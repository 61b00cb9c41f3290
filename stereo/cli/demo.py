"""`stereo demo`: placeholder until its issue lands (replaced by the owner)."""

from ..errors import StereoError


def register(subparsers):
    p = subparsers.add_parser("demo", help="(not available yet)")
    p.set_defaults(func=run)


def run(args):
    raise StereoError("'stereo demo' is not available yet")
