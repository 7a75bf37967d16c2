"""mri/volumes.py and mri/dicom_series.py: NIfTI reading against nibabel on generated
volumes, the BraTS volumes against their own training slices, and DICOM series built from a volume."""
from __future__ import annotations

import gzip
import itertools
import random
import struct

import numpy as np
import pytest

from mri import volumes
from mri.dicom_series import read_series
from mri.volumes import VolumeError, read_volume
from tests.conftest import real_data
from tests.volume_samples import (
    SEQUENCES,
    brats_path,
    brats_patients,
    dicom_series,
    head_phantom,
    nifti_bytes,
)

nib = pytest.importorskip("nibabel")


def expected_slices(data: bytes) -> np.ndarray:
    """What the convention says, computed with nibabel's own tools: RAS canonical voxels, each
    axial slice shown with anterior up and the patient's right on the left, in the file's order."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".nii.gz" if data[:2] == b"\x1f\x8b" else ".nii") as f:
        f.write(data)
        f.flush()
        image = nib.load(f.name)
        codes = nib.aff2axcodes(image.affine)
        canonical = nib.as_closest_canonical(image)
        voxels = np.asarray(canonical.get_fdata(), dtype=np.float64)
    if voxels.ndim == 4:
        voxels = voxels[..., 0]
    nonzero = voxels[voxels != 0]
    top = np.percentile(nonzero, 99.5)
    grey = np.floor(np.clip(voxels * 255.0 / top, 0, 255) + 0.5)
    axial = np.transpose(grey[::-1, ::-1, :], (2, 1, 0))  # [z, y reversed, x reversed]
    if "I" in codes:  # stored inferior-wards: the file's own order is the reverse of canonical's
        axial = axial[::-1]
    return axial.astype(np.uint8)


def affines():
    """Axis permutations and flips, with voxel sizes and an offset."""
    for perm in itertools.permutations(range(3)):
        for signs in ((1, 1, 1), (-1, -1, 1), (1, -1, -1), (-1, 1, -1)):
            affine = np.zeros((4, 4))
            for voxel, world in enumerate(perm):
                affine[world, voxel] = signs[world] * (1.0 + 0.5 * voxel)
            affine[:3, 3] = (-90.0, 20.0, 5.0)
            affine[3, 3] = 1.0
            yield f"{perm}{signs}", affine


@pytest.mark.parametrize("name,affine", list(affines()))
def test_orientation_matches_nibabel(name, affine):
    data = nifti_bytes(head_phantom(), affine)
    assert np.array_equal(read_volume(data, name).slices, expected_slices(data))


def test_qform_only_and_a_slight_tilt():
    theta = np.radians(8)
    affine = np.array([[-np.cos(theta), 0, np.sin(theta), 10], [0, -1.2, 0, 0],
                       [np.sin(theta), 0, np.cos(theta), 0], [0, 0, 0, 1]])
    data = nifti_bytes(head_phantom(), affine, qform_only=True)
    assert np.array_equal(read_volume(data).slices, expected_slices(data))


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32", "float32", "float64"])
@pytest.mark.parametrize("gz", [True, False])
def test_data_types(dtype, gz):
    phantom = head_phantom() * (0.2 if dtype == "uint8" else 1.0)
    data = nifti_bytes(phantom, np.diag([-1.0, -1, 1, 1]), dtype=dtype, gz=gz)
    assert np.array_equal(read_volume(data).slices, expected_slices(data))


def test_slope_and_intercept_are_applied():
    data = nifti_bytes(head_phantom(), np.diag([-1.0, -1, 1, 1]), slope=2.5, inter=-100.0, gz=False)
    assert nib.Nifti1Image.from_bytes(data).dataobj.slope == 2.5  # the file says so
    plain = read_volume(nifti_bytes(head_phantom(), np.diag([-1.0, -1, 1, 1]), gz=False)).slices
    scaled = read_volume(data).slices
    assert np.array_equal(scaled, expected_slices(data))
    assert not np.array_equal(scaled, plain)  # the intercept moves the window


def test_nifti2():
    data = nifti_bytes(head_phantom(), np.diag([1.0, 1, 1, 1]), version=2)
    assert np.array_equal(read_volume(data).slices, expected_slices(data))


def test_4d_takes_the_first_volume_and_says_so():
    first, second = head_phantom(seed=1), head_phantom(seed=2)
    data = nifti_bytes(np.stack([first, second], axis=-1), np.diag([-1.0, -1, 1, 1]))
    volume = read_volume(data, "fmri.nii.gz")
    assert any("2 volumes" in note and "first" in note for note in volume.notes)
    assert np.array_equal(volume.slices, read_volume(nifti_bytes(first, np.diag([-1.0, -1, 1, 1]))).slices)


def test_header_text_is_not_in_the_result():
    data = nifti_bytes(head_phantom(), np.eye(4), text="Doe^Jane 1970")
    volume = read_volume(data)
    assert all("Doe" not in note for note in volume.notes)


def test_truncated_gzip():
    data = nifti_bytes(head_phantom(), np.eye(4))
    with pytest.raises(VolumeError, match="cut short"):
        read_volume(data[: len(data) // 2], "cut.nii.gz")


def test_truncated_uncompressed():
    data = nifti_bytes(head_phantom(), np.eye(4), gz=False)
    with pytest.raises(VolumeError, match="cut.nii is cut short"):
        read_volume(data[: len(data) - 100], "cut.nii")


def test_gzip_bomb_is_refused_before_inflating_everything():
    bomb = gzip.compress(bytes(20 * 1024 * 1024), 9)  # 20 MB of zeros in 20 kB
    inflater_limit = 4 * 1024 * 1024
    with pytest.raises(VolumeError, match="more than 4 MB"):
        volumes.inflate(bomb, "bomb.nii.gz", limit=inflater_limit)
    assert volumes.MAX_INFLATED_BYTES == 1025 * 1024 ** 2  # the limit docs/page.md states


def header_with_dims(dims) -> bytes:
    raw = bytearray(nifti_bytes(head_phantom(), np.eye(4), gz=False))
    struct.pack_into("<8h", raw, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    return bytes(raw)


def test_absurd_dimensions():
    with pytest.raises(VolumeError, match="claims 30000x30000x30000 voxels"):
        read_volume(header_with_dims([30000, 30000, 30000]), "huge.nii")


def test_a_2d_volume():
    with pytest.raises(VolumeError, match="single 2-D image"):
        read_volume(header_with_dims([40, 48]), "flat.nii")


def test_not_nifti_and_empty():
    with pytest.raises(VolumeError, match="not a NIfTI"):
        read_volume(b"hello" * 200, "notes.txt")
    with pytest.raises(VolumeError, match="empty"):
        read_volume(b"", "empty.nii")
    assert not volumes.looks_like_nifti(gzip.compress(b"hello" * 200))
    assert volumes.looks_like_nifti(nifti_bytes(head_phantom(), np.eye(4)))


def test_all_zero_volume():
    with pytest.raises(VolumeError, match="no non-zero voxel"):
        read_volume(nifti_bytes(np.zeros((8, 8, 4)), np.eye(4)), "zeros.nii.gz")


# --- the BraTS volumes against the training slices cut from them --------------------------------

@pytest.mark.parametrize("sequence", SEQUENCES)
def test_brats_volume_matches_its_training_slices(sequence):
    real_data("volumes/brats2018")
    from PIL import Image

    slices_root = real_data("brain-mri-brats")
    compared = 0
    for patient in brats_patients():
        volume = read_volume(brats_path(patient, sequence).read_bytes(), patient)
        for jpeg in sorted(slices_root.glob(f"*/{patient}_{sequence}_s*.jpg"))[::6]:
            k = int(jpeg.stem.rsplit("_s", 1)[1])
            reference = np.asarray(Image.open(jpeg).convert("L"), dtype=np.float64)
            difference = np.abs(volume.slices[k].astype(np.float64) - reference).mean()
            assert difference < 2.0, f"{jpeg.name}: mean |difference| {difference:.2f} grey levels"
            compared += 1
    assert compared >= 4


# --- DICOM series ---------------------------------------------------------------------------------

BRATS_LIKE = np.diag([-1.0, -1.0, 1.0, 1.0])  # voxel i -> patient's left, j -> posterior, k -> up


def test_series_gives_the_volumes_slices_in_any_file_order():
    phantom = np.round(head_phantom())
    reference = read_volume(nifti_bytes(phantom, BRATS_LIKE)).slices
    files = dicom_series(phantom)
    random.Random(3).shuffle(files)
    assert np.array_equal(read_series(files).slices, reference)


def test_multi_frame_series_and_rescale():
    phantom = np.round(head_phantom())
    reference = read_volume(nifti_bytes(phantom, BRATS_LIKE)).slices
    assert np.array_equal(read_series(dicom_series(phantom, multi_frame=True)).slices, reference)
    assert np.array_equal(read_series(dicom_series(phantom * 2 - 50, slope=2.0, intercept=-50.0)).slices,
                          read_volume(nifti_bytes(phantom * 2 - 50, BRATS_LIKE)).slices)


def test_series_on_a_real_brats_volume():
    real_data("volumes/brats2018")
    patient = brats_patients()[0]
    image = nib.load(brats_path(patient, "flair"))
    voxels = np.asarray(image.dataobj, dtype=np.float64)
    assert "".join(nib.aff2axcodes(image.affine)) == "LPS"
    files = dicom_series(voxels)
    random.Random(0).shuffle(files)
    assert np.array_equal(read_series(files).slices, read_volume(brats_path(patient, "flair").read_bytes()).slices)


def test_instance_number_fallback_is_said():
    phantom = np.round(head_phantom())
    files = dicom_series(phantom, positions=False)
    random.Random(1).shuffle(files)
    volume = read_series(files, "series A")
    assert any("InstanceNumber" in note for note in volume.notes)
    assert np.array_equal(volume.slices, read_volume(nifti_bytes(phantom, BRATS_LIKE)).slices)


def test_series_errors():
    phantom = np.round(head_phantom())
    files = dicom_series(phantom)
    notes = read_series(files[:5] + files[8:], "gappy").notes
    assert any("slices missing between InstanceNumber 5 and 9" in n for n in notes)
    with pytest.raises(VolumeError, match="mixes 2 DICOM series"):
        read_series(files[:6] + dicom_series(phantom)[6:], "mixed")
    with pytest.raises(VolumeError, match="neither ImagePositionPatient nor InstanceNumber"):
        read_series(dicom_series(phantom, positions=False, instance_numbers=False), "bare")
    with pytest.raises(VolumeError, match="same position"):
        read_series(files + files[:1], "twice")
    with pytest.raises(VolumeError, match="single slice"):
        read_series(files[:1], "one")


def test_head_rule_skips_empty_slices():
    phantom = np.zeros((40, 48, 12))
    phantom[5:35, 5:40, 3:9] = head_phantom((30, 35, 6))
    volume = read_volume(nifti_bytes(phantom, BRATS_LIKE))
    head = volume.has_head()
    assert head[4:8].all() and not head[:3].any() and not head[9:].any()
