"""Compressed DICOM, encoded here from a real slice into each transfer syntax hospitals send: the
server (mri.dicom with pydicom's plugins) and the page's decoders (frontend/js/worker/codecs.js, run in
Node) must give the uncompressed original's stored values, and a compressed bomb is refused before
any decoder runs, in both."""
from __future__ import annotations

import io
import resource
import struct

import numpy as np
import pydicom
import pytest
from compressed_samples import ENCODERS, LOSSLESS, compress, real_t2_slice, source_for, uncompressed_dicom
from page_jobs import read_floats, run_page_job

from mri.dicom import DicomDecodeError, decode_dicom
from mri.images import MAX_PIXELS, ImageDecodeError, decode_image

# Largest difference from the original, in stored values, for the lossy syntaxes (12-bit data).
LOSSY_TOLERANCE = {"1.2.840.10008.1.2.4.81": 2, "1.2.840.10008.1.2.4.50": 20, "1.2.840.10008.1.2.4.51": 40}


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """syntax -> (original stored values, uncompressed bytes, compressed bytes), made once."""
    tmp = tmp_path_factory.mktemp("compressed")
    made = {}
    for syntax in ENCODERS:
        pixels = source_for(syntax)
        raw = uncompressed_dicom(pixels, WindowCenter=1200, WindowWidth=2400)
        made[syntax] = (pixels, raw, compress(raw, syntax, tmp))
    return made


@pytest.mark.parametrize("syntax", ENCODERS)
def test_the_server_decodes_each_syntax_to_the_original_pixels(encoded, syntax):
    pixels, raw, data = encoded[syntax]
    ds = pydicom.dcmread(io.BytesIO(data))
    assert str(ds.file_meta.TransferSyntaxUID) == syntax.split("/")[0]  # really compressed
    assert len(data) < len(raw) * 0.8
    decoded = ds.pixel_array.astype(np.int64)
    difference = int(np.abs(decoded - pixels.astype(np.int64)).max())
    if syntax in LOSSLESS:
        assert difference == 0
    else:
        assert 0 < difference <= LOSSY_TOLERANCE[syntax]
    # and the whole path the API takes: windowed to the model's 0-255 like the original
    np.testing.assert_allclose(decode_dicom(data, "c.dcm"), decode_dicom(raw, "u.dcm"),
                               atol=0 if syntax in LOSSLESS else 255 * LOSSY_TOLERANCE[syntax] / 2400 + 1e-3)


@pytest.mark.parametrize("syntax", sorted(set(ENCODERS) - {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}))
def test_the_page_decodes_each_syntax_to_the_original_pixels(encoded, syntax, tmp_path):
    pixels, raw, data = encoded[syntax]
    path = tmp_path / "c.dcm"
    path.write_bytes(data)
    info = run_page_job(tmp_path, task="dicom", file=str(path), out=str(tmp_path / "out.f32"),
                        stored=str(tmp_path / "stored.f32"))
    stored = read_floats(tmp_path / "stored.f32").reshape(pixels.shape).astype(np.int64)
    difference = int(np.abs(stored - pixels.astype(np.int64)).max())
    assert difference <= (0 if syntax in LOSSLESS else LOSSY_TOLERANCE[syntax])
    windowed = read_floats(tmp_path / "out.f32").reshape(info["height"], info["width"])
    if syntax in LOSSLESS:  # the page's model input from the compressed file = the server's
        np.testing.assert_allclose(windowed, decode_dicom(raw, "u.dcm")[..., 0], atol=1e-3)


def test_the_page_hands_jpeg_baseline_to_the_browser_and_refuses_12_bit_extended(encoded, tmp_path):
    for syntax, expected in (("1.2.840.10008.1.2.4.50", "jpeg"), ("1.2.840.10008.1.2.4.51", "12-bit")):
        path = tmp_path / "j.dcm"
        path.write_bytes(encoded[syntax][2])
        if expected == "jpeg":
            assert run_page_job(tmp_path, task="dicom", file=str(path), out=str(tmp_path / "o.f32")) == {"jpeg": True}
        else:
            with pytest.raises(AssertionError,
                               match=r"j\.dcm: its DICOM image is compressed as JPEG extended, with 12-bit"):
                run_page_job(tmp_path, task="dicom", file=str(path), out=str(tmp_path / "o.f32"))


def rle_bomb(rows: int, columns: int, frames: int = 1) -> bytes:
    """A few hundred bytes of RLE whose header promises rows x columns x frames 16-bit pixels."""
    from pydicom.encaps import encapsulate

    segment = b"\x81\x00" * 8
    frame = struct.pack("<16I", 2, 64, 64 + len(segment), *([0] * 13)) + segment * 2
    ds = pydicom.dcmread(io.BytesIO(uncompressed_dicom(np.zeros((4, 4), np.uint16))))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.5"
    ds.Rows, ds.Columns = rows, columns
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = encapsulate([frame] * frames)
    ds["PixelData"].VR = "OB"
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def lying_codestream(encoded) -> bytes:
    """The JPEG-LS file with its codestream's frame header saying 60000 x 60000 pixels."""
    data = bytearray(encoded["1.2.840.10008.1.2.4.80"][2])
    sof = data.index(b"\xff\xf7")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


def test_a_compressed_bomb_is_refused_by_the_server_before_decoding(encoded):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # 1000 frames of 256 x 256: every frame within a slice's size, all of them past the cap
    with pytest.raises(ImageDecodeError, match=r"^frames\.dcm is compressed \(RLE lossless\) and would decode to "
                                               r"256x256 pixels in 1000 frame\(s\).*not decoded"):
        decode_image(rle_bomb(256, 256, frames=1000), "frames.dcm")
    with pytest.raises(DicomDecodeError, match=r"^liar\.dcm: its compressed frame says 60000x60000 pixels but its "
                                               r"DICOM header says \d+x\d+; it was not decoded"):
        decode_dicom(lying_codestream(encoded), "liar.dcm", max_pixels=MAX_PIXELS)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200


def test_a_compressed_bomb_is_refused_by_the_page_before_decoding(encoded, tmp_path):
    # readDicom, which never decodes (decodeDicomFrame does, later), is where both are refused.
    assert 256 * 256 * 1000 > MAX_PIXELS
    for name, data, message in (
            ("frames.dcm", rle_bomb(256, 256, frames=1000),
             r"frames\.dcm is compressed and would decode to 256x256 pixels in 1000 frame\(s\), more than the "
             r"40,000,000 allowed; it was not decoded"),
            ("liar.dcm", lying_codestream(encoded), r"liar\.dcm: its compressed frame says 60000x60000 pixels")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(AssertionError, match=message):
            run_page_job(tmp_path, task="dicom", file=str(path), out=str(tmp_path / "o.f32"))


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5"])
def test_a_compressed_series_reads_as_its_uncompressed_original_in_both(syntax, tmp_path):
    from test_volume_parity import page_scans

    from mri.dicom_series import read_series
    from tests.volume_samples import dicom_series

    voxels = np.minimum(real_t2_slice()[60:180:6, 60:180:6], 4095)  # 20 x 20 real values
    volume = np.stack([np.roll(voxels, k, axis=0) for k in range(6)], axis=-1).astype(np.float64)
    series = dicom_series(volume)
    packed = [(name, compress(data, syntax, tmp_path)) for name, data in series]
    expected = read_series(series).slices
    assert np.array_equal(read_series(packed).slices, expected)
    [answer] = page_scans(tmp_path, [packed])
    assert "error" not in answer, answer
    assert np.array_equal(answer["slices"], expected)
