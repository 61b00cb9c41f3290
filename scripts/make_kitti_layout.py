"""Write MiddEval3 training scenes as a KITTI-layout folder: python scripts/make_kitti_layout.py SRC OUT."""
import sys

from stereo.evaluation.kitti import export_kitti_layout

if __name__ == "__main__":
    names = export_kitti_layout(sys.argv[1], sys.argv[2])
    print(f"wrote {len(names)} frames to {sys.argv[2]}")
