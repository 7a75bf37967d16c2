"""What the model knows, read from a DICOM header: the Python twin of frontend/js/shared/scope.js.

The model was trained on axial 2-D slices of brain MRI in T1, T1 with contrast, T2 and FLAIR. A
file whose header says it is something else (another modality, diffusion, EPI/fMRI, a localiser,
angiography or SWI, a secondary capture, a plane far from axial) gets no verdict: level
"not-mri" with reasons a person understands. One rule table, checked in order; both runtimes are
fed the same fixtures (tests/fixtures/scope/cases.json). Only acquisition-describing tags are
read (never a patient, study or institution field), and only the words below leave this module.
"""
from __future__ import annotations

import io
import math
import re

import pydicom

# Planes further than this from axial (the angle between the slice normal and the head's long
# axis) are withheld: at 35 degrees a slice still looks axial; at 45 it is half-way to coronal.
MAX_AXIAL_TILT_DEGREES = 35.0
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants .7.1 to .7.4

# (code, ImageType values, description pattern, message): description = SeriesDescription,
# ProtocolName and SequenceName together.
RULES = (
    ("diffusion", {"DIFFUSION", "ADC", "TRACE", "FA", "EADC", "TENSOR"},
     r"\b(dwi|dti|adc|diffusion|diff|trace|tensor|ep2d diff|resolve|b ?= ?\d{3,4}|b\d{3,4})\b",
     "The header says this is a diffusion image (DWI, ADC, trace or DTI); the model was trained on "
     "T1, T2 and FLAIR slices only."),
    ("epi", set(), r"\b(epi|ep2d\w*|bold|fmri|resting|perfusion|dsc|pwi|asl|pcasl)\b",
     "The header says this is an EPI image (fMRI, BOLD or perfusion); the model was trained on T1, T2 "
     "and FLAIR slices only."),
    ("localizer", {"LOCALIZER"}, r"\b(localizer|localiser|loc|scout|survey|pilot|tripilot|aahead\w*|3pl\w*)\b",
     "The header says this is a localiser (scout) image, taken to plan the scan, not a diagnostic slice."),
    ("angiography", {"MIP", "ANGIO", "SWI", "PHASE MAP"},
     r"\b(mra|tof|angio\w*|swi|swan|venobold|susceptibility|mip|minip)\b",
     "The header says this is angiography or a susceptibility image (MRA, TOF, SWI); the model was "
     "trained on T1, T2 and FLAIR slices only."),
)
# Sequence names, first match wins, on the same description text.
SEQUENCES = (
    ("FLAIR", r"\b(flair|tirm|dark ?fluid)\b|flair"),
    ("T1 with contrast", r"(\bt1|mprage|spgr|bravo|tfl).*(\+ ?c\b|\bpost|\bgad|\bgd\b|contrast|\bce\b)|"
                         r"(\+ ?c\b|\bpost|\bgad|\bgd\b|contrast).*(\bt1|mprage|spgr|bravo)|\bt1c\b|\bt1ce\b"),
    ("T1", r"\bt1|mprage|spgr|bravo|tfl3d"),
    ("T2*", r"\bt2\*|t2star|t2 star|\bgre\b"),
    ("T2", r"\bt2|\btse\b|\bfse\b|\bhaste\b"),
    ("PD", r"\bpd\b|proton density"),
)


def _words(header: dict) -> str:
    parts = [header.get(k) or "" for k in ("SeriesDescription", "ProtocolName", "SequenceName")]
    return re.sub(r"[_\-]+", " ", " ".join(str(p) for p in parts)).lower()


def plane_of(orientation) -> tuple[str | None, float | None]:
    """ImageOrientationPatient -> (axial | coronal | sagittal, degrees between normal and the long axis)."""
    if not orientation or len(orientation) != 6:
        return None, None
    r, c = [float(v) for v in orientation[:3]], [float(v) for v in orientation[3:]]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    length = math.sqrt(sum(v * v for v in n))
    if length < 1e-6:
        return None, None
    n = tuple(abs(v) / length for v in n)
    name = ("sagittal", "coronal", "axial")[max(range(3), key=lambda i: (n[i], -i))]
    return name, round(math.degrees(math.acos(min(1.0, n[2]))), 1)


def judge(header: dict) -> dict:
    """Header fields (DICOM keywords; ImageType and ScanningSequence as lists) -> {withheld,
    codes, reasons, sequence, plane, tilt, label}."""
    codes, reasons = [], []

    def withhold(code, message):
        codes.append(code)
        reasons.append(message)

    modality = str(header.get("Modality") or "").upper()
    image_type = {str(v).upper() for v in header.get("ImageType") or []}
    words = _words(header)
    if modality and modality != "MR":
        withhold("modality", f"The header says this is modality {modality}, not MR: the model reads brain MRI only.")
    sop = str(header.get("SOPClassUID") or "")
    if sop == SECONDARY_CAPTURE or sop.startswith(SECONDARY_CAPTURE + ".") or {"SCREEN SAVE", "REPORT"} & image_type:
        withhold("secondary-capture", "The header says this is a secondary capture (a screenshot, report "
                                      "or drawing saved as DICOM), not an acquired slice.")
    bvalue = header.get("DiffusionBValue")
    scanning = {str(v).upper() for v in header.get("ScanningSequence") or []}
    for code, types, pattern, message in RULES:
        if code == "epi" and "diffusion" in codes:
            continue  # diffusion is acquired with EPI: one reason is enough
        hit = bool(types & image_type) or re.search(pattern, words) is not None
        hit = hit or (code == "diffusion" and bvalue is not None and float(bvalue) > 0)
        hit = hit or (code == "epi" and "EP" in scanning)
        if hit:
            withhold(code, message)
    plane, tilt = plane_of(header.get("ImageOrientationPatient"))
    if tilt is not None and tilt > MAX_AXIAL_TILT_DEGREES:
        withhold("plane", f"The slice plane is {tilt:g} degrees from axial ({plane}); the model was "
                          f"trained on axial slices only, so the page withholds planes more than "
                          f"{MAX_AXIAL_TILT_DEGREES:g} degrees from axial.")
    sequence = next((name for name, pattern in SEQUENCES if re.search(pattern, words)), None)
    label = ", ".join(p for p in (sequence, plane) if p) or None
    return {"withheld": bool(codes), "codes": codes, "reasons": reasons, "sequence": sequence,
            "plane": plane, "tilt": tilt, "label": label}


def judge_series(headers: list[dict]) -> dict:
    """A series as a whole: withheld when any of its files is, every reason once; the sequence
    and plane of its first file."""
    judged = [judge(h) for h in headers]
    codes, reasons = [], []
    for j in judged:
        for code, reason in zip(j["codes"], j["reasons"]):
            if code not in codes:
                codes.append(code)
                reasons.append(reason)
    first = judged[0]
    return {**first, "withheld": bool(codes), "codes": codes, "reasons": reasons}


def header_of(ds) -> dict:
    """The fields judge reads, from a pydicom dataset (classic or enhanced)."""
    def text(keyword):
        value = ds.get(keyword)
        return None if value is None else str(value)

    def listed(keyword):
        value = ds.get(keyword)
        if value is None:
            return []
        several = isinstance(value, (list, tuple, pydicom.multival.MultiValue))
        return [str(v) for v in value] if several else [str(value)]

    orientation = ds.get("ImageOrientationPatient")
    shared = ds.get("SharedFunctionalGroupsSequence")
    if orientation is None and shared:
        plane = shared[0].get("PlaneOrientationSequence")
        orientation = plane[0].get("ImageOrientationPatient") if plane else None
    bvalue = ds.get("DiffusionBValue")
    return {"Modality": text("Modality"), "SOPClassUID": text("SOPClassUID"), "ImageType": listed("ImageType"),
            "SeriesDescription": text("SeriesDescription"), "ProtocolName": text("ProtocolName"),
            "SequenceName": text("SequenceName"), "ScanningSequence": listed("ScanningSequence"),
            "ImageOrientationPatient": None if orientation is None else [float(v) for v in orientation],
            "DiffusionBValue": None if bvalue is None else float(bvalue)}


def judge_dicom(data: bytes) -> dict:
    """DICOM bytes -> judge's answer, reading the header only."""
    return judge(header_of(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)))
