"""One bounded YAML loader for every calibration file (rig, rectified model, OpenCV, ROS, ...).

``yaml.safe_load`` is safe against code execution but not against resource exhaustion:
nine nested aliases in a 1 KB file expand to gigabytes, and a 50,000-deep ``[[[`` ends in a
``RecursionError``. :func:`load_yaml_text` therefore

* refuses anchors and aliases (no calibration format needs them),
* bounds the nesting depth (:data:`MAX_DEPTH`) and the number of nodes (:data:`MAX_NODES`),
* understands OpenCV FileStorage YAML: the ``%YAML:1.0`` directive (not YAML 1.1 syntax)
  and the ``!!opencv-matrix`` / ``!!opencv-nd-matrix`` tags (kept as mappings, checked by
  :mod:`calib.opencv_files`),
* turns every failure into :class:`~stereo.errors.FileFormatError` naming the file.

File size is bounded by the caller (:func:`stereo.io.files.read_calibration_text`,
``STEREO_MAX_CALIB_BYTES``, default 1 MiB). :func:`load_yaml_file` does both.
"""

from __future__ import annotations

import re

import yaml

from stereo.errors import FileFormatError

MAX_DEPTH = 32
"""Deepest nesting of sequences/mappings accepted (calibration files use 4 at most)."""
MAX_NODES = 50_000
"""Most YAML nodes in one file (calibration files have a few hundred; a 1 MiB list of
numbers has ~350k and would take seconds to compose in pure Python)."""

OPENCV_TAGS = ("tag:yaml.org,2002:opencv-matrix", "tag:yaml.org,2002:opencv-nd-matrix")

_DIRECTIVE = re.compile(r"\A\s*%YAML[: ]\s*1\.[0-9]+[^\n]*\n(\s*---[^\n]*\n)?")


class YamlLimitError(yaml.YAMLError):
    """A YAML document outside the bounds above."""


class UnsafeYamlError(FileFormatError):
    """A calibration file refused for its YAML structure (aliases, depth, node count)."""


class BoundedSafeLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases and with depth and node-count bounds."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlLimitError(f"YAML anchors and aliases are not accepted in calibration files "
                                 f"(line {event.start_mark.line + 1})")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlLimitError(f"more than {MAX_NODES} YAML nodes")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(f"YAML nested deeper than {MAX_DEPTH} levels "
                                     f"(line {event.start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_opencv(loader, node):
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(None, None, "an OpenCV matrix must be a mapping",
                                                node.start_mark)
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__opencv__"] = node.tag.rsplit(":", 1)[-1]
    return mapping


for _tag in OPENCV_TAGS:
    BoundedSafeLoader.add_constructor(_tag, _construct_opencv)


def strip_opencv_directive(text: str) -> str:
    """Drop OpenCV's ``%YAML:1.0`` (or ``%YAML 1.2``) directive line and a following ``---``.

    OpenCV writes ``%YAML:1.0``, which is not valid YAML 1.1, and OpenCV 5 writes
    ``%YAML 1.2``, which PyYAML refuses; the content itself is plain YAML 1.1.
    """
    m = _DIRECTIVE.match(text)
    if not m:
        return text
    # Keep the line count so that error messages point at the right line.
    return "\n" * m.group(0).count("\n") + text[m.end():]


def load_yaml_text(text: str, path="calibration") -> object:
    """Parse YAML text under the bounds above; ``path`` names the file in errors.

    Returns plain Python objects (dict, list, str, int, float, bool, None); OpenCV matrix
    nodes become dicts with an ``"__opencv__"`` key ("opencv-matrix" / "opencv-nd-matrix").

    Raises:
        FileFormatError: invalid YAML, anchors/aliases, too deep or too many nodes.
    """
    text = strip_opencv_directive(text)
    loader = None
    try:
        loader = BoundedSafeLoader(text)  # the reader checks the characters here already
        return loader.get_single_data()
    except YamlLimitError as exc:
        raise UnsafeYamlError(f"{path}: {exc}", str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FileFormatError(f"{path}: invalid YAML{at} ({problem})", str(path)) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. an integer of more than 4300 digits, an impossible date, an unhashable key
        raise FileFormatError(f"{path}: unreadable YAML value ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:120] if str(exc) else ''})", str(path)) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_file(path) -> object:
    """Read a calibration file (bounded size, regular file) and parse it with :func:`load_yaml_text`."""
    from stereo.io.files import read_calibration_text

    return load_yaml_text(read_calibration_text(path), path)


__all__ = ["load_yaml_text", "load_yaml_file", "UnsafeYamlError", "strip_opencv_directive", "BoundedSafeLoader",
           "MAX_DEPTH", "MAX_NODES"]
