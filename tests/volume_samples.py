"""Generated scans for the tests: NIfTI files written by nibabel and DICOM series by pydicom.

Nothing here comes from a patient; the DICOM files carry a made-up patient name that the tests
check is never shown or sent.
"""
from __future__ import annotations

import gzip
import io
import struct

import numpy as np

from tests.conftest import DATA_DIR

BRATS_VOLUMES = DATA_DIR / "volumes" / "brats2018"
BRATS_SLICES = DATA_DIR / "brain-mri-brats"
SEQUENCES = ("flair", "t1", "t1ce", "t2")
FAKE_PATIENT = {"PatientName": "Doe^Jane", "PatientID": "PID-93417", "PatientBirthDate": "19700101"}
# NIfTI-1 header offsets of scl_slope and scl_inter (float32).
SCL_SLOPE_OFFSET = 112


def head_phantom(shape=(40, 48, 20), seed=0) -> np.ndarray:
    """A head-like blob on black with an asymmetric bright spot (so flips and swaps show)."""
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    inside = i ** 2 / 0.8 + j ** 2 / 0.9 + k ** 2 / 1.1 < 1
    volume = inside * (400 + 300 * (i + 1) + 150 * j) + rng.normal(0, 20, shape) * inside
    volume += ((i - 0.4) ** 2 + (j + 0.3) ** 2 + (k - 0.2) ** 2 < 0.05) * 900
    return np.clip(volume, 0, None)


def nifti_bytes(voxels: np.ndarray, affine: np.ndarray, *, dtype="int16", version=1,
                slope=None, inter=0.0, gz=True, qform_only=False, text=None) -> bytes:
    """voxels stored as `dtype` (rounded for integer types) in a NIfTI-1/2 file."""
    import nibabel as nib

    cls = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    stored = voxels.astype(dtype) if np.dtype(dtype).kind == "f" else np.round(voxels).astype(dtype)
    image = cls(stored, None)
    header = image.header
    header.set_data_dtype(dtype)
    if qform_only:
        image.set_qform(affine, code=1)
        image.set_sform(None, code=0)
    else:
        image.set_sform(affine, code=2)
        image.set_qform(affine, code=1)
    if text:
        header["descrip"] = text
        header["intent_name"] = text[:15]
    raw = bytearray(image.to_bytes())
    if slope is not None:
        # Written by hand: nibabel recomputes scale factors from the data on save.
        if version != 1:
            raise ValueError("slope patching is written for NIfTI-1")
        struct.pack_into("<ff", raw, SCL_SLOPE_OFFSET, slope, inter)
    return gzip.compress(bytes(raw), 6) if gz else bytes(raw)


def dicom_series(voxels: np.ndarray, *, spacing=(1.0, 1.0, 1.0), series_uid=None, multi_frame=False,
                 positions=True, instance_numbers=True, slope=1.0, intercept=0.0, repeat_positions=False,
                 slice_locations=False) -> list[tuple[str, bytes]]:
    """An axial series of `voxels` [i (towards patient's left), j (towards posterior), k (towards
    superior)], 0-65535, one file per k (or one multi-frame file): what a scanner exporting the
    same grid would write. `repeat_positions`: every file at the first slice's position, as some
    hospital exports write them (the slices then differ by SliceLocation, `slice_locations`, and
    InstanceNumber only)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import EnhancedMRImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

    series_uid = series_uid or generate_uid()
    stored = np.clip(np.round((voxels - intercept) / slope), 0, 65535).astype("<u2")
    columns, rows, n = stored.shape

    def base(sop_class):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, ds.file_meta.MediaStorageSOPInstanceUID
        for key, value in FAKE_PATIENT.items():
            setattr(ds, key, value)
        ds.Modality = "MR"
        ds.SeriesInstanceUID = series_uid
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        return ds

    def save(ds):
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        return out.getvalue()

    orientation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    if multi_frame:
        ds = base(EnhancedMRImageStorage)
        ds.NumberOfFrames = n
        shared = Dataset()
        plane = Dataset()
        plane.ImageOrientationPatient = orientation
        shared.PlaneOrientationSequence = Sequence([plane])
        measures = Dataset()
        measures.PixelSpacing = [spacing[1], spacing[0]]
        shared.PixelMeasuresSequence = Sequence([measures])
        transform = Dataset()
        transform.RescaleSlope, transform.RescaleIntercept = slope, intercept
        shared.PixelValueTransformationSequence = Sequence([transform])
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
        frames = []
        for k in range(n):
            item, where = Dataset(), Dataset()
            where.ImagePositionPatient = [0.0, 0.0, k * spacing[2]]
            item.PlanePositionSequence = Sequence([where])
            frames.append(item)
        ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
        ds.PixelData = np.ascontiguousarray(np.transpose(stored, (2, 1, 0))).tobytes()
        return [("series.dcm", save(ds))]
    files = []
    for k in range(n):
        ds = base(MRImageStorage)
        if positions:
            ds.ImageOrientationPatient = orientation
            ds.ImagePositionPatient = [0.0, 0.0, 0.0 if repeat_positions else k * spacing[2]]
        if slice_locations:
            ds.SliceLocation = k * spacing[2]
        if instance_numbers:
            ds.InstanceNumber = k + 1
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).tobytes()
        files.append((f"IM{k:04d}.dcm", save(ds)))
    return files


def brats_path(patient: str, sequence: str):
    return BRATS_VOLUMES / patient / f"{patient}_{sequence}.nii.gz"


def brats_patients() -> list[str]:
    return sorted(p.name for p in BRATS_VOLUMES.iterdir() if p.is_dir()) if BRATS_VOLUMES.is_dir() else []
