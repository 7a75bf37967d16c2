"""The page's preprocessing and DICOM reading (frontend/js/) against their Python twins
(mri/images.py, mri/dicom.py): the same bytes must give the same model input."""
from __future__ import annotations

import io

import numpy as np
import pytest
from page_jobs import read_floats, run_page_job, write_floats

from mri.dicom import decode_dicom
from mri.images import to_model_input


@pytest.mark.parametrize("height,width,channels,model_channels", [
    (61, 97, 3, 1),     # enlarging, RGB to gray
    (300, 211, 4, 1),   # shrinking an RGBA canvas (alpha ignored)
    (128, 128, 3, 1),   # same size: only the luma
    (50, 40, 3, 3),     # a colour model
])
def test_model_input_matches_python(tmp_path, height, width, channels, model_channels):
    rng = np.random.default_rng(height * width)
    pixels = rng.integers(0, 256, (height, width, channels)).astype(np.float32)
    expected = to_model_input(pixels[..., :3], 128, 128, model_channels)
    run_page_job(tmp_path, task="model_input", pixels=write_floats(tmp_path / "px.f32", pixels), width=width,
                 height=height, channels=channels, input={"height": 128, "width": 128, "channels": model_channels},
                 out=str(tmp_path / "out.f32"))
    actual = read_floats(tmp_path / "out.f32").reshape(expected.shape)
    # float32 luma summed in another order: differences of a few ulp at 255 are the most allowed.
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-3)


def _dicom_bytes(pixels: np.ndarray, *, photometric="MONOCHROME2", bits=16, signed=False, slope=None,
                 intercept=None, center=None, width=None, frames=1) -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientName = "Parity^Test"
    rows, cols = pixels.shape[-3:-1] if photometric == "RGB" else pixels.shape[-2:]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 3 if photometric == "RGB" else 1
    if photometric == "RGB":
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = int(signed)
    if frames > 1:
        ds.NumberOfFrames = frames
    for name, value in (("RescaleSlope", slope), ("RescaleIntercept", intercept),
                        ("WindowCenter", center), ("WindowWidth", width)):
        if value is not None:
            setattr(ds, name, value)
    dtype = {(8, False): np.uint8, (16, False): np.uint16, (16, True): np.int16}[(bits, signed)]
    ds.PixelData = pixels.astype(dtype).tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


RNG = np.random.default_rng(7)
DICOM_CASES = {
    "16-bit, file window": dict(pixels=RNG.integers(0, 4096, (24, 20)), center=1800, width=1200),
    "16-bit, automatic percentile window": dict(pixels=RNG.integers(0, 4096, (33, 17))),
    "MONOCHROME1": dict(pixels=RNG.integers(0, 1000, (16, 16)), photometric="MONOCHROME1", center=500, width=800),
    "slope and intercept, auto window": dict(pixels=RNG.integers(0, 3000, (20, 20)), slope="0.5", intercept="-1024"),
    "signed 16-bit": dict(pixels=RNG.integers(-2000, 2000, (18, 22)), signed=True, center=0, width=3000),
    "8-bit": dict(pixels=RNG.integers(0, 256, (12, 30)), bits=8),
    "multi-frame (middle frame)": dict(pixels=RNG.integers(0, 4096, (5, 16, 12)), frames=5),
    "RGB": dict(pixels=RNG.integers(0, 256, (10, 14, 3)), photometric="RGB", bits=8),
    "window width 0 falls back to auto": dict(pixels=RNG.integers(0, 500, (16, 16)), center=100, width=0),
}


@pytest.mark.parametrize("case", DICOM_CASES)
def test_dicom_decoding_matches_python(tmp_path, case):
    data = _dicom_bytes(**DICOM_CASES[case])
    path = tmp_path / "image"  # no extension: decoded by content
    path.write_bytes(data)
    expected = decode_dicom(data, "image")
    info = run_page_job(tmp_path, task="dicom", file=str(path), out=str(tmp_path / "out.f32"))
    actual = read_floats(tmp_path / "out.f32").reshape(info["height"], info["width"], info["channels"])
    # The page keeps gray as one channel; Python repeats it into three.
    np.testing.assert_allclose(actual, expected[..., :info["channels"]], rtol=0, atol=1e-4)
