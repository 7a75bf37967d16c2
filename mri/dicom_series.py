"""A DICOM series (files of one or more frames) -> a Volume: the Python twin of frontend/js/worker/series.js.

Files are grouped by SeriesInstanceUID (more than one series is refused: classify them one at a
time); frames are ordered by their position along the slice normal (ImagePositionPatient on
ImageOrientationPatient's normal, per frame for enhanced multi-frame files), by InstanceNumber
where positions repeat (some scanners write one position for every slice) by SliceLocation, then
InstanceNumber (said in the notes). A gap larger than 1.5 times the usual spacing is said in the
notes and the series opens; two frames that no key tells apart are refused. Orientation comes from
ImageOrientationPatient (DICOM's LPS patient axes), so the slices come out in the same radiological
view as a NIfTI volume. Patient fields are never read.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from mri.codecs import check_codestreams
from mri.volumes import MAX_VOXELS, Volume, VolumeError, scale_to_grey, to_axial

GAP_FACTOR = 1.5
AXIAL_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass
class Frame:
    pixels: np.ndarray  # [rows, cols] float64 after RescaleSlope/Intercept
    position: np.ndarray | None
    orientation: tuple[float, ...] | None
    spacing: tuple[float, float]
    instance: int | None
    location: float | None  # SliceLocation, the fallback when positions repeat
    order: tuple[int, int]  # (file, frame) as given, the last tie-breaker
    series: str
    name: str


def _floats(value, count):
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in (value if count > 1 else [value]))
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count and all(np.isfinite(numbers)) else None


def _first_item(ds, path):
    """ds.A[0].B[0]... for a path of sequence keywords, or None."""
    item = ds
    for keyword in path:
        sequence = getattr(item, keyword, None)
        if not sequence:
            return None
        item = sequence[0]
    return item


def read_frames(data: bytes, name: str, file_index: int) -> list[Frame]:
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError) as err:
        raise VolumeError(f"{name} is not a readable DICOM file ({err}).") from err
    if "PixelData" not in ds:
        raise VolumeError(f"{name} is a DICOM file without pixel data; leave it out of the series.")
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if rows * columns * frames > MAX_VOXELS or max(rows, columns) > 4096:
        raise VolumeError(f"{name} claims {columns}x{rows} pixels in {frames} frame(s), more than a "
                          "brain MRI series has; check the file.")
    if str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")).startswith(("RGB", "YBR", "PALETTE")):
        raise VolumeError(f"{name} is a colour image, not an MRI slice.")
    check_codestreams(ds, name, VolumeError)
    try:
        pixels = np.asarray(ds.pixel_array, dtype=np.float64)
    except Exception as err:  # pydicom raises many types for unsupported transfer syntaxes
        raise VolumeError(f"{name}: its pixel data could not be decoded ({err}); export it uncompressed.") from err
    pixels = pixels.reshape(frames, rows, columns)
    shared = _first_item(ds, ("SharedFunctionalGroupsSequence",))
    per_frame = list(getattr(ds, "PerFrameFunctionalGroupsSequence", []) or [])
    series = str(getattr(ds, "SeriesInstanceUID", "") or "")
    instance = getattr(ds, "InstanceNumber", None)
    instance = int(instance) if instance not in (None, "") else None
    location = _floats(getattr(ds, "SliceLocation", None), 1)
    location = None if location is None else location[0]

    def tag(group, attribute, count, frame):
        """An enhanced file's per-frame, then shared functional group, then the classic top level."""
        groups = ([per_frame[frame]] if frame < len(per_frame) else []) + ([shared] if shared else [])
        items = [_first_item(g, (group,)) for g in groups] + [ds]
        for item in items:
            value = _floats(getattr(item, attribute, None), count) if item is not None else None
            if value is not None:
                return value
        return None

    out = []
    for f in range(frames):
        # A missing or zero slope means 1, as in mri/dicom.py.
        slope = (tag("PixelValueTransformationSequence", "RescaleSlope", 1, f) or (1.0,))[0] or 1.0
        intercept = (tag("PixelValueTransformationSequence", "RescaleIntercept", 1, f) or (0.0,))[0]
        position = tag("PlanePositionSequence", "ImagePositionPatient", 3, f)
        orientation = tag("PlaneOrientationSequence", "ImageOrientationPatient", 6, f)
        spacing = tag("PixelMeasuresSequence", "PixelSpacing", 2, f) or (1.0, 1.0)
        out.append(Frame(pixels[f] * slope + intercept,
                         None if position is None else np.array(position), orientation, spacing,
                         instance, location, (file_index, f), series, name))
    return out


def order_frames(frames: list[Frame], label: str) -> tuple[list[Frame], np.ndarray, list[str]]:
    """Sorted frames, the voxel-to-RAS affine and notes; VolumeError for mixed series or gaps."""
    series = sorted({f.series for f in frames})
    if len(series) > 1:
        raise VolumeError(f"{label} mixes {len(series)} DICOM series; drop the files of one series "
                          "(one folder per series) at a time.")
    shapes = {f.pixels.shape for f in frames}
    if len(shapes) > 1:
        sizes = ", ".join(sorted("x".join(map(str, s)) for s in shapes))
        raise VolumeError(f"{label} has slices of different sizes ({sizes}); "
                          "it is not one series.")
    if len(frames) < 2:
        raise VolumeError(f"{label} is a single slice, not a series; classify it as an image instead.")
    notes = []
    orientation = next((f.orientation for f in frames if f.orientation is not None), None)
    if orientation is None:
        orientation = AXIAL_ORIENTATION
        notes.append(f"{label}: no ImageOrientationPatient; the slices are taken as axial.")
    row_dir, col_dir = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row_dir, col_dir)
    order, spacing, more = _slice_order(frames, normal, label)
    notes += more
    row_spacing, column_spacing = frames[0].spacing
    affine = np.eye(4)
    affine[:3, 0] = row_dir * column_spacing
    affine[:3, 1] = col_dir * row_spacing
    affine[:3, 2] = normal * spacing
    affine[:2, :3] *= -1  # DICOM's LPS -> RAS
    return [frames[i] for i in order], affine, notes


def _distinct(values) -> bool:
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    return not np.any(np.isclose(np.diff(ordered), 0.0, atol=1e-4))


def _slice_order(frames: list[Frame], normal: np.ndarray, label: str) -> tuple[list[int], float, list[str]]:
    """The frames' order, the slice spacing and notes: by position along the normal, else (when
    positions repeat or are missing) SliceLocation, else InstanceNumber; a gap is said, not refused."""
    keys = [("position", "ImagePositionPatient",
             [None if f.position is None else float(f.position @ normal) for f in frames]),
            ("location", "SliceLocation", [f.location for f in frames]),
            ("instance", "InstanceNumber", [f.instance for f in frames])]
    present = [(kind, tag, values) for kind, tag, values in keys if all(v is not None for v in values)]
    if not present:
        raise VolumeError(f"{label}: its files carry neither ImagePositionPatient nor InstanceNumber, "
                          "so the slice order is unknown; export the series with position tags.")
    chosen = next(((kind, tag, values) for kind, tag, values in present if _distinct(values)), None)
    if chosen is None:
        raise VolumeError(f"{label} has two slices at the same position; it holds duplicate files "
                          "or more than one scan: drop one series at a time.")
    kind, tag, values = chosen
    notes = []
    if kind != "position":
        why = "repeats" if present[0][0] == "position" else "is missing"
        notes.append(f"{label}: ImagePositionPatient {why}, so the slices are ordered by {tag}.")
    order = sorted(range(len(frames)), key=lambda i: (values[i], frames[i].order))
    steps = np.diff(np.asarray([values[i] for i in order], dtype=np.float64))
    usual = float(np.median(steps)) if kind != "instance" else 1.0
    for g in np.flatnonzero(steps > GAP_FACTOR * usual):
        before, after = frames[order[g]], frames[order[g + 1]]
        where = (f"InstanceNumber {before.instance} and {after.instance}"
                 if before.instance is not None and after.instance is not None else f"{before.name} and {after.name}")
        size = f" (a {steps[g]:.1f} mm gap where slices are {usual:.2f} mm apart)" if kind != "instance" else ""
        notes.append(f"{label}: slices missing between {where}{size}; the slices either side are shown "
                     "next to each other.")
    return order, (usual if kind != "instance" else 1.0), notes


def read_series(files: list[tuple[str, bytes]], label: str = "the series") -> Volume:
    """[(name, bytes)] of one DICOM series, in any order -> Volume (index = order along the normal)."""
    frames = [frame for i, (name, data) in enumerate(files) for frame in read_frames(data, name, i)]
    ordered, affine, notes = order_frames(frames, label)
    voxels = np.stack([f.pixels for f in ordered])  # [k, rows (j), columns (i)]
    axial = to_axial(np.transpose(voxels, (2, 1, 0)), affine)
    return Volume(scale_to_grey(axial, label), notes)
