"""Image dimensions read from the file header, before anything is decoded.

A small compressed file can claim a huge image (a 424 KB PNG of 20000x20000 pixels
decodes to gigabytes), so :func:`check_image_header` compares the header's width x height
with :func:`stereo.limits.max_image_pixels` first. PNG, JPEG, BMP, PNM/PAM, TIFF, WebP,
Radiance HDR and PFM headers are read here; for any other format OpenCV's own limit
(``OPENCV_IO_MAX_IMAGE_PIXELS``, set to ours when ``stereo`` is imported before ``cv2``)
still applies.
"""

from __future__ import annotations

import re
import struct

from ..errors import FileFormatError

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _png(b):
    if len(b) >= 24 and b[12:16] == b"IHDR":
        return struct.unpack(">II", b[16:24])
    return None


def _jpeg(b):
    i, n = 2, len(b)
    for _ in range(100_000):  # real files have tens of segments before the frame header
        if i + 4 > n:
            return None
        if b[i] != 0xFF:
            return None
        marker = b[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", b[i + 2:i + 4])
        if marker in _SOF:
            if i + 9 > n:
                return None
            h, w = struct.unpack(">HH", b[i + 5:i + 9])
            return w, h
        if length < 2:
            return None
        i += 2 + length
    return None


def _bmp(b):
    if len(b) >= 26:
        w, h = struct.unpack("<ii", b[18:26])
        return abs(w), abs(h)
    return None


def _pnm(b):
    head = b[:4096]
    if head[:2] == b"P7":
        w = re.search(rb"^WIDTH\s+(\d+)", head, re.M)
        h = re.search(rb"^HEIGHT\s+(\d+)", head, re.M)
        return (int(w.group(1)), int(h.group(1))) if w and h else None
    text = re.sub(rb"#[^\n]*", b" ", head[2:])
    tokens = text.split()
    if len(tokens) >= 2 and tokens[0].isdigit() and tokens[1].isdigit():
        return int(tokens[0]), int(tokens[1])
    return None


def _tiff(b):
    if len(b) < 8:
        return None
    e = "<" if b[:2] == b"II" else ">"
    (magic,) = struct.unpack(e + "H", b[2:4])
    if magic != 42:
        return None  # BigTIFF and others: OpenCV's limit applies
    (off,) = struct.unpack(e + "I", b[4:8])
    if off + 2 > len(b):
        return None
    (count,) = struct.unpack(e + "H", b[off:off + 2])
    w = h = None
    for k in range(min(count, 4096)):
        p = off + 2 + 12 * k
        if p + 12 > len(b):
            break
        tag, typ = struct.unpack(e + "HH", b[p:p + 4])
        if tag in (256, 257):
            val = struct.unpack(e + ("H" if typ == 3 else "I"), b[p + 8:p + (10 if typ == 3 else 12)])[0]
            if tag == 256:
                w = val
            else:
                h = val
    return (w, h) if w is not None and h is not None else None


def _webp(b):
    if len(b) < 30:
        return None
    chunk = b[12:16]
    if chunk == b"VP8X":
        w = 1 + int.from_bytes(b[24:27], "little")
        h = 1 + int.from_bytes(b[27:30], "little")
        return w, h
    if chunk == b"VP8L" and b[20] == 0x2F:
        bits = int.from_bytes(b[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", b[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _hdr(b):
    m = re.search(rb"\n\s*([-+])Y\s+(\d+)\s+([-+])X\s+(\d+)", b[:8192])
    return (int(m.group(4)), int(m.group(2))) if m else None


def _pfm(b):
    tokens = b[:256].split()
    if len(tokens) >= 3 and tokens[1].isdigit() and tokens[2].isdigit():
        return int(tokens[1]), int(tokens[2])
    return None


def header_dimensions(data: bytes):
    """(width, height) claimed by an image file's header, or None when not recognised."""
    whole = data if isinstance(data, bytes) else bytes(data)
    b = whole[:65536]
    try:
        if b.startswith(b"\x89PNG\r\n\x1a\n"):
            return _png(b)
        if b.startswith(b"\xff\xd8"):
            return _jpeg(whole)  # EXIF segments can push the frame header past 64 KiB
        if b.startswith(b"BM"):
            return _bmp(b)
        if b[:1] == b"P" and b[1:2] in b"1234567" and len(b) > 2:
            return _pnm(b)
        if b[:2] in (b"II", b"MM"):
            return _tiff(whole)  # the first IFD may sit at the end of the file
        if b[:4] == b"RIFF" and b[8:12] == b"WEBP":
            return _webp(b)
        if b.startswith(b"#?RADIANCE") or b.startswith(b"#?RGBE"):
            return _hdr(b)
        if b[:2] in (b"PF", b"Pf"):
            return _pfm(b)
    except (struct.error, ValueError, IndexError):
        return None
    return None


def check_image_header(data: bytes, path, max_pixels: int) -> None:
    """Refuse an image whose header claims more than ``max_pixels`` pixels (before decoding)."""
    dims = header_dimensions(data)
    if dims is None:
        return
    w, h = dims
    if w * h > max_pixels:
        raise FileFormatError(f"{path}: image header says {w}x{h} = {w * h} pixels, more than the "
                              f"{max_pixels} allowed (raise STEREO_MAX_IMAGE_PIXELS if this is "
                              f"really an image you want to match)", str(path))


__all__ = ["header_dimensions", "check_image_header"]
