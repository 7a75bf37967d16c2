"""Whole scans -> axial slices ready for the model: the Python twin of frontend/js/worker/volume.js.

A NIfTI-1/2 file (gzipped or not) or a DICOM series becomes a volume in one convention, the one
the BraTS training slices use:
- axial slices in the radiological view: the patient's anterior at the top of the image, the
  patient's right on the image's left (read from the sform, else the qform, else pixdim);
- slice `index` = the slice's position in the volume's own order along its axial axis (a NIfTI's
  voxel index, a DICOM series' order along the slice normal), so results can be matched to a mask;
- intensities scaled per volume: 0 -> 0 and the 99.5th percentile of the non-zero voxels (numpy's
  linear interpolation) -> 255, clipped, rounded half up to whole grey levels.
Each slice then takes the image path (mri/images.py): bilinear resize to the model's size.
Header text (descrip, intent_name) and DICOM patient fields are never read out.
"""
from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field

import nibabel as nib
import numpy as np

from mri.images import resize_bilinear

PERCENTILE = 99.5
# Refusals before memory is spent: a header promising more voxels or larger slices than this is
# refused before reading, and a gzip stream stops inflating past what the largest such volume
# needs (8 bytes a voxel plus the header), so a gzip bomb costs at most that.
MAX_VOXELS = 512 * 512 * 512
MAX_SLICE_SIDE = 2048
HEADER_ALLOWANCE = 1024 * 1024


def inflate_limit(max_voxels: int) -> int:
    return max_voxels * 8 + HEADER_ALLOWANCE


MAX_INFLATED_BYTES = inflate_limit(MAX_VOXELS)
# A slice is classified when at least this share of its pixels is brighter than HEAD_GREY (of
# 255): the empty slices above and below the head say nothing and are skipped.
HEAD_GREY = 25
MIN_HEAD_FRACTION = 0.05
GZIP_MAGIC = b"\x1f\x8b"
NIFTI1_MAGICS = (b"n+1\0", b"ni1\0")
NIFTI2_MAGICS = (b"n+2\0", b"ni2\0")


class VolumeError(ValueError):
    """A file that cannot be read as a scan; the message names it and says what to do."""


class VolumeTooLarge(VolumeError):
    """A scan refused for its size before memory was spent on it (the API answers 413)."""


@dataclass
class Volume:
    """Scaled axial slices [n, rows, cols] uint8 in the radiological view, and what was noticed."""
    slices: np.ndarray
    notes: list[str] = field(default_factory=list)

    def has_head(self) -> np.ndarray:
        """[n] bool: slices with enough head in them to classify."""
        bright = (self.slices > HEAD_GREY).mean(axis=(1, 2))
        return bright >= MIN_HEAD_FRACTION


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def nifti_version(header: bytes) -> int | None:
    """1 or 2 when the (inflated) bytes start with a NIfTI header, else None."""
    if len(header) >= 348 and header[344:348] in NIFTI1_MAGICS:
        return 1
    if len(header) >= 540 and header[4:8] in NIFTI2_MAGICS:
        return 2
    return None


def looks_like_nifti(data: bytes) -> bool:
    """By content: a NIfTI header, or a gzip stream whose start inflates to one."""
    if is_gzip(data):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:65536], 540)
        except zlib.error:
            return False
        return nifti_version(head) is not None
    return nifti_version(data) is not None


def inflate(data: bytes, name: str, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """gunzip, refusing past `limit` bytes without inflating the rest, and naming a cut-short file."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    chunks, total, view, step = [], 0, memoryview(data), 1 << 20
    for start in range(0, len(data), step):
        piece = view[start:start + step]
        while piece:
            try:
                out = inflater.decompress(piece, limit + 1 - total)
            except zlib.error as err:
                raise VolumeError(f"{name} is not a valid gzip file ({err}); export the volume again.") from err
            total += len(out)
            chunks.append(out)
            if total > limit:
                raise VolumeTooLarge(f"{name} inflates to more than {limit // (1024 * 1024)} MB, more than any "
                                  "brain MRI volume needs; it was refused before inflating the rest.")
            piece = inflater.unconsumed_tail
        if inflater.eof:
            break
    if not inflater.eof:
        raise VolumeError(f"{name} is cut short (its gzip stream ends early); download or export it again.")
    return b"".join(chunks)


def load_nifti(data: bytes, name: str = "volume",
               max_voxels: int = MAX_VOXELS) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """NIfTI bytes -> (float64 voxels [i, j, k], its 4x4 voxel-to-RAS affine, notes)."""
    raw = inflate(data, name, inflate_limit(max_voxels)) if is_gzip(data) else data
    version = nifti_version(raw)
    if version is None:
        raise VolumeError(f"{name} is not a NIfTI-1 or NIfTI-2 file (no NIfTI header); "
                          "export the scan as .nii or .nii.gz.")
    image_class = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    header = image_class.header_class.from_fileobj(io.BytesIO(raw), check=False)
    shape = tuple(int(n) for n in header.get_data_shape())
    notes = []
    check_shape(shape, name, max_voxels)
    if len(shape) > 3 and int(np.prod(shape[3:])) > 1:
        notes.append(f"{name} holds {int(np.prod(shape[3:]))} volumes (a 4-D file); the first one is used.")
    # The first volume is the only one read (and all the page's reader inflates).
    needed = int(header.get_data_offset()) + int(np.prod(shape[:3])) * header.get_data_dtype().itemsize
    if len(raw) < needed:
        raise VolumeError(f"{name} is cut short: its header promises {needed:,} bytes, the file has "
                          f"{len(raw):,}; download or export it again.")
    try:
        image = image_class.from_bytes(raw)
        voxels = np.asarray(image.dataobj[..., 0] if len(shape) == 4 else image.dataobj, dtype=np.float64)
    except (ValueError, TypeError, nib.filebasedimages.ImageFileError) as err:
        raise VolumeError(f"{name} could not be read as a NIfTI volume ({err}).") from err
    voxels = voxels.reshape(shape[:3])
    return voxels, image.affine, notes


def check_shape(shape: tuple[int, ...], name: str, max_voxels: int = MAX_VOXELS) -> None:
    if len(shape) < 3 or shape[2] < 2:
        raise VolumeError(f"{name} is a single 2-D image ({'x'.join(map(str, shape))}), not a volume; "
                          "classify it as an image (PNG, JPEG or DICOM) instead.")
    if len(shape) > 4 and int(np.prod(shape[4:])) > 1:
        raise VolumeError(f"{name} has {len(shape)} dimensions ({'x'.join(map(str, shape))}); "
                          "only 3-D volumes (or the first volume of a 4-D file) can be read.")
    if min(shape[:3]) < 1:
        raise VolumeError(f"{name} claims {'x'.join(map(str, shape[:3]))} voxels; its header is damaged.")
    if max(shape[:3]) > MAX_SLICE_SIDE or int(np.prod(shape[:3])) > max_voxels:
        raise VolumeTooLarge(f"{name} claims {'x'.join(map(str, shape[:3]))} voxels, more than this "
                             f"reader takes (at most {max_voxels:,} voxels, {MAX_SLICE_SIDE} a side); "
                             "check the file or send a smaller volume.")


def axial_layout(affine: np.ndarray) -> tuple[tuple[int, int, int], tuple[bool, bool]]:
    """Voxel axes (column, row, slice) and whether to reverse columns / rows, for the view.

    Each voxel axis is matched to the world axis it points most along (greedily, largest first):
    columns run towards the patient's left, rows towards posterior; the slice axis is the one
    closest to superior-inferior and keeps its stored order.
    """
    directions = np.asarray(affine, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(directions, axis=0)
    if np.any(norms == 0) or not np.all(np.isfinite(directions)):
        raise VolumeError("the volume's orientation (affine) is degenerate; check its sform/qform.")
    cosines = directions / norms
    world_of = [-1, -1, -1]
    for flat in np.argsort(-np.abs(cosines), axis=None, kind="stable"):
        world, voxel = divmod(int(flat), 3)
        if world_of[voxel] == -1 and world not in world_of:
            world_of[voxel] = world
    voxel_of = [world_of.index(w) for w in range(3)]  # RAS x, y, z -> voxel axis
    column, row, slice_axis = voxel_of
    # RAS: +x is the patient's right, +y anterior. Columns must run right -> left (towards -x),
    # rows anterior -> posterior (towards -y).
    reverse_columns = cosines[0, column] > 0
    reverse_rows = cosines[1, row] > 0
    return (column, row, slice_axis), (reverse_columns, reverse_rows)


def to_axial(voxels: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """[i, j, k] voxels -> [slice, row, column] in the radiological axial view."""
    (column, row, slice_axis), (reverse_columns, reverse_rows) = axial_layout(affine)
    out = np.transpose(voxels, (slice_axis, row, column))
    if reverse_rows:
        out = out[:, ::-1, :]
    if reverse_columns:
        out = out[:, :, ::-1]
    return out


def scale_to_grey(voxels: np.ndarray, name: str = "volume") -> np.ndarray:
    """Per-volume window: 0 -> 0, 99.5th percentile of non-zero voxels -> 255; uint8."""
    nonzero = voxels[voxels != 0]
    nonzero = nonzero[np.isfinite(nonzero)]
    if nonzero.size == 0:
        raise VolumeError(f"{name} holds no non-zero voxel (an empty volume); check the file.")
    top = float(np.percentile(nonzero, PERCENTILE))
    if top <= 0:
        raise VolumeError(f"{name} has no positive intensities (99.5th percentile {top:g}); "
                          "it does not look like an MRI volume.")
    scaled = np.nan_to_num(voxels, nan=0.0) * (255.0 / top)
    return np.floor(np.clip(scaled, 0.0, 255.0) + 0.5).astype(np.uint8)


def read_nifti(data: bytes, name: str = "volume", max_voxels: int = MAX_VOXELS) -> Volume:
    voxels, affine, notes = load_nifti(data, name, max_voxels)
    try:
        axial = to_axial(voxels, affine)
    except VolumeError as err:
        raise VolumeError(f"{name}: {err}") from err
    return Volume(scale_to_grey(axial, name), notes)


def read_volume(data: bytes, name: str = "volume", max_voxels: int = MAX_VOXELS) -> Volume:
    """A NIfTI file (by content) -> Volume; VolumeError otherwise."""
    if not data:
        raise VolumeError(f"{name} is empty (0 bytes).")
    return read_nifti(data, name, max_voxels)


def model_inputs(volume: Volume, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the slices with enough head, their model inputs float32 [n, height, width, 1]):
    each slice takes the image path (a gray image, bilinear resize, raw 0-255)."""
    indices = np.flatnonzero(volume.has_head())
    if indices.size == 0:
        return indices, np.zeros((0, height, width, 1), np.float32)
    pixels = volume.slices[indices].astype(np.float32)[..., None]
    return indices, np.stack([resize_bilinear(p, height, width) for p in pixels])


def summarize(indices, tumor_probabilities, total: int, notes: list[str], threshold: float, top: int = 3) -> dict:
    """What a scan's per-slice results add up to (not a diagnosis): the slices most likely to show
    a tumour, and how many are at or above `threshold` (mri.contract.tumor_threshold, the cut-off
    single images use). frontend/js/shared/scanresults.js is its twin."""
    ranked = sorted(zip(indices, tumor_probabilities), key=lambda pair: (-pair[1], pair[0]))
    return {
        "slices": int(total),
        "classified": len(indices),
        "skipped": int(total) - len(indices),
        "threshold": threshold,
        "above_threshold": sum(1 for p in tumor_probabilities if p >= threshold),
        "most_likely": [{"index": int(i), "tumor_probability": float(p)} for i, p in ranked[:top]],
        "notes": list(notes),
    }

