"""Compressed DICOM: which transfer syntaxes are read, and the checks made before any decoder runs.

The Python twin of frontend/js/worker/codecs.js. pydicom decodes through its plugins (pylibjpeg with
pylibjpeg-libjpeg for JPEG and JPEG-LS, pylibjpeg-openjpeg for JPEG 2000, pylibjpeg-rle for RLE;
pinned in requirements.txt). Before pydicom decodes, the size each frame's codestream declares
(its SOF or SIZ marker) must equal the header's Rows x Columns, which the caller has already held
against the pixel cap: a crafted file cannot make a decoder allocate more.
"""
from __future__ import annotations

import struct

from pydicom.encaps import generate_frames

# Transfer syntax -> its name in words (the messages name it).
COMPRESSIONS = {
    "1.2.840.10008.1.2.4.50": "JPEG baseline",
    "1.2.840.10008.1.2.4.51": "JPEG extended",
    "1.2.840.10008.1.2.4.57": "JPEG lossless",
    "1.2.840.10008.1.2.4.70": "JPEG lossless",
    "1.2.840.10008.1.2.4.80": "JPEG-LS lossless",
    "1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.5": "RLE lossless",
}
RLE = "1.2.840.10008.1.2.5"
JPEG_2000 = ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91")
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}


def _jpeg_size(frame: bytes) -> tuple[int, int] | None:
    """(columns, rows) from a JPEG or JPEG-LS frame's first start-of-frame segment."""
    if frame[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(frame):
        if frame[i] != 0xFF:
            return None
        marker = frame[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in SOF_MARKERS:
            rows, columns = struct.unpack(">HH", frame[i + 5:i + 9])
            return columns, rows
        if marker == 0xDA:
            return None
        i += 2 + struct.unpack(">H", frame[i + 2:i + 4])[0]
    return None


def _j2k_size(frame: bytes) -> tuple[int, int] | None:
    """(columns, rows) from a JPEG 2000 codestream's SIZ segment (in a JP2 box or bare)."""
    at = frame.find(b"\xff\x4f\xff\x51", 0, 4096)
    if at < 0 or at + 24 > len(frame):
        return None
    x, y, x0, y0 = struct.unpack(">IIII", frame[at + 8:at + 24])
    return x - x0, y - y0


def check_codestreams(ds, name: str, error=ValueError) -> None:
    """Every compressed frame's declared size must be the header's; raises `error` otherwise."""
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if syntax not in COMPRESSIONS or syntax == RLE:
        return  # uncompressed, RLE (sized by the header alone) or left to pydicom's own refusal
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    read = _j2k_size if syntax in JPEG_2000 else _jpeg_size
    try:
        for frame in generate_frames(ds.PixelData, number_of_frames=frames):
            size = read(frame)
            if size is None:
                raise error(f"{name}: its compressed frame has no readable image header; the file is "
                            "damaged. Export it again, or uncompressed.")
            if size != (columns, rows):
                raise error(f"{name}: its compressed frame says {size[0]}x{size[1]} pixels but its DICOM "
                            f"header says {columns}x{rows}; it was not decoded (a damaged or crafted "
                            "file). Export it again.")
    except (ValueError, struct.error) as err:
        if isinstance(err, error):
            raise
        raise error(f"{name}: its compressed pixel data could not be read ({err}); export it again, "
                    "or uncompressed.") from err
