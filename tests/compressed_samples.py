"""Compressed DICOM for the tests, encoded at test time from real slices (nothing big is committed).

The source is a real slice: a BraTS T2 NIfTI slice as 16-bit stored values (what an MR scanner
writes), or a real 8-bit JPEG slice for the 8-bit (baseline) syntaxes. Debian's dcmtk
(`dcmcjpeg`, `dcmcjpls`, `dcmcrle`; `make test` installs it) and pydicom's own encoders (RLE,
JPEG 2000 through pylibjpeg-openjpeg) write the compressed copies. A test skips, saying why, where
the data or dcmtk is missing.
"""
from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.volume_samples import BRATS_SLICES, FAKE_PATIENT, brats_path, brats_patients

# Transfer syntax -> how it is written: ("dcmtk", tool, flags) or ("pydicom", encoder UID).
ENCODERS = {
    "1.2.840.10008.1.2.4.70": ("dcmtk", "dcmcjpeg", ["+e1"]),
    "1.2.840.10008.1.2.4.57": ("dcmtk", "dcmcjpeg", ["+el", "+sv", "2"]),
    "1.2.840.10008.1.2.4.80": ("dcmtk", "dcmcjpls", ["+el"]),
    "1.2.840.10008.1.2.4.81": ("dcmtk", "dcmcjpls", ["+en"]),
    "1.2.840.10008.1.2.4.50": ("dcmtk", "dcmcjpeg", ["+eb"]),
    "1.2.840.10008.1.2.4.51": ("dcmtk", "dcmcjpeg", ["+ee"]),
    "1.2.840.10008.1.2.4.90": ("pydicom", "1.2.840.10008.1.2.4.90"),
    "1.2.840.10008.1.2.5": ("pydicom", "1.2.840.10008.1.2.5"),
    "1.2.840.10008.1.2.5/dcmtk": ("dcmtk", "dcmcrle", []),
}
# Exact syntaxes decode to the very stored values; the lossy ones within this many grey levels
# of a 0-255 window (JPEG-LS near-lossless is bounded by NEAR=2 of 4096, baseline by the DCT).
LOSSLESS = {"1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.80",
            "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.5/dcmtk"}
EIGHT_BIT_ONLY = {"1.2.840.10008.1.2.4.50"}


def real_t2_slice() -> np.ndarray:
    """A BraTS T2 axial slice, uint16 [rows, columns], or skip."""
    patients = brats_patients()
    if not patients:
        pytest.skip("real BraTS volumes not found beside the repository (MRI_DATA_DIR); "
                    "the compressed-DICOM tests encode a real slice")
    import nibabel as nib

    voxels = np.asarray(nib.load(str(brats_path(patients[0], "t2"))).dataobj)
    return np.ascontiguousarray(np.clip(voxels[:, :, 80].T, 0, 65535).astype(np.uint16))


def real_8bit_slice() -> np.ndarray:
    """A real 8-bit JPEG slice (BraTS, 240x240), uint8 [rows, columns], or skip."""
    from PIL import Image

    files = sorted(BRATS_SLICES.glob("glioma/*_t2_*.jpg")) if BRATS_SLICES.is_dir() else []
    if not files:
        pytest.skip(f"real slices not found at {BRATS_SLICES} (set MRI_DATA_DIR to run this test)")
    with Image.open(files[0]) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8)


def uncompressed_dicom(pixels: np.ndarray, **header) -> bytes:
    """An MR slice (or frames [n, rows, columns]) as explicit-little-endian DICOM; header fields
    (keyword=value) are set as given."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = header.pop("SOPClassUID", MRImageStorage)
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    for key, value in FAKE_PATIENT.items():
        setattr(ds, key, value)
    ds.Modality = "MR"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    bits = 8 if pixels.dtype == np.uint8 else 16
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if bits == 16:  # what MR scanners write: 12 significant bits in 16
        ds.BitsStored, ds.HighBit = 12, 11
    for key, value in header.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(pixels).astype(f"<u{bits // 8}").tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def compress(data: bytes, syntax: str, tmp_path: Path) -> bytes:
    """Uncompressed DICOM bytes -> the same image in `syntax` (an ENCODERS key)."""
    how = ENCODERS[syntax]
    if how[0] == "pydicom":
        import pydicom

        ds = pydicom.dcmread(io.BytesIO(data))
        ds.compress(how[1], encoding_plugin="pylibjpeg" if how[1].endswith(".90") else "")
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        return out.getvalue()
    _, tool, flags = how
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} (Debian's dcmtk) is not installed; `make test` installs it")
    source, target = tmp_path / f"in-{tool}.dcm", tmp_path / f"out-{tool}.dcm"
    source.write_bytes(data)
    subprocess.run([tool, *flags, str(source), str(target)], check=True, capture_output=True)
    return target.read_bytes()


def source_for(syntax: str) -> np.ndarray:
    """The real slice a syntax is tested on: 8-bit for baseline, 12 bits in 16 otherwise."""
    if syntax in EIGHT_BIT_ONLY:
        return real_8bit_slice()
    pixels = real_t2_slice()
    return np.minimum(pixels, 4095).astype(np.uint16)
