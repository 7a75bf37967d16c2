"""Uploads: kept in memory only, and checked from their header before anything decodes them.

Decoding itself is mri.images' job (the one definition the page's preprocessing is tested
against); this module only refuses, early and cheaply, what must never reach a decoder: formats
the page does not read (Pillow also opens EPS through Ghostscript, FITS, PSD, ...) and images
whose pixel count would cost too much memory once decoded (a decompression bomb).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import pydicom
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import MemoryFileUploadHandler
from PIL import Image, UnidentifiedImageError

from mri.images import MAX_PIXELS, is_dicom

# The formats a browser decodes natively, by their first bytes (file extensions lie), and the
# Pillow plugin that reads each. DICOM is recognised by mri.images.is_dicom.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)


class UploadTooLarge(RequestDataTooBig):
    """An upload that grew past MRI_MAX_UPLOAD_BYTES while it streamed in."""


class UploadRejected(Exception):
    """An upload the API answers with a 4xx status and a sentence for the person who sent it."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int
    frames: int = 1


class MemoryOnlyUploadHandler(MemoryFileUploadHandler):
    """Every upload in memory, never in a temporary file on disk, whatever its size.

    Django's own handler moves uploads above FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file; this
    one never does. The API refuses a body above its limit before parsing it; the running count
    here also holds where Content-Length understates the body.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.MRI_MAX_UPLOAD_BYTES:
            raise UploadTooLarge("upload above MRI_MAX_UPLOAD_BYTES")
        return super().receive_data_chunk(raw_data, start)


def sniff_format(data: bytes) -> str | None:
    if is_dicom(data):
        return "DICOM"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in SIGNATURES:
        if data.startswith(signature):
            return name
    return None


def read_header(data: bytes, name: str) -> ImageHeader:
    """The format and pixel dimensions of an upload, read without decoding its pixels."""
    if not data:
        raise UploadRejected(400, f"{name} is empty (0 bytes); choose a JPEG, PNG or DICOM image.")
    image_format = sniff_format(data)
    if image_format is None:
        raise UploadRejected(
            415, f"{name} is not a JPEG, PNG, GIF, BMP, WebP or DICOM image nor a NIfTI volume (its "
                 "content matches none of them, whatever its name says); export the slice as PNG, "
                 "JPEG or DICOM, or the scan as .nii.gz.")
    if image_format == "DICOM":
        return _dicom_header(data, name)
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as img:
            return ImageHeader(image_format, img.width, img.height)
    except Image.DecompressionBombError:
        raise UploadRejected(413, f"{name} has too many pixels to decode safely; resize it to at "
                                  "most 1024 pixels a side and try again.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UploadRejected(
            400, f"{name} starts like a {image_format} file but its header is damaged or cut "
                 "short; check that the file is complete and try again.") from None


def _dicom_header(data: bytes, name: str) -> ImageHeader:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except Exception:  # pydicom raises many exception types for damaged headers
        raise UploadRejected(
            400, f"{name} looks like DICOM but its header could not be read; check that the file "
                 "is complete, or export the slice again.") from None
    # Rows/Columns are absent from DICOM files without pixel data; decoding says so in its words.
    return ImageHeader("DICOM", columns, rows, max(frames, 1))


def check_pixel_count(header: ImageHeader, name: str, max_pixels: int) -> None:
    limit = min(max_pixels, MAX_PIXELS)
    pixels = header.width * header.height * header.frames
    if pixels > limit:
        frames = f" in {header.frames} frames" if header.frames > 1 else ""
        raise UploadRejected(
            413, f"{name} is {header.width} x {header.height} pixels{frames}, more than the "
                 f"{limit:,} pixels the server decodes; resize it (MRI slices rarely need more "
                 "than 1024 pixels a side) or send a single frame.")
