// What the model knows, read from a DICOM header: the JavaScript twin of mri/scope.py.
//
// The model was trained on axial 2-D slices of brain MRI in T1, T1 with contrast, T2 and FLAIR. A
// file whose header says it is something else (another modality, diffusion, EPI/fMRI, a localiser,
// angiography or SWI, a secondary capture, a plane far from axial) gets no verdict: level
// "not-mri" with reasons a person understands. One rule table, checked in order; both runtimes are
// fed the same fixtures (tests/fixtures/scope/cases.json). Only acquisition-describing tags are
// read (never a patient, study or institution field), and only the words below leave this module.

// Planes further than this from axial (the angle between the slice normal and the head's long
// axis) are withheld: at 35 degrees a slice still looks axial; at 45 it is half-way to coronal.
export const MAX_AXIAL_TILT_DEGREES = 35;
const SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"; // and its multi-frame variants .7.1 to .7.4

// [code, ImageType values, description pattern, message]: description = SeriesDescription,
// ProtocolName and SequenceName together.
const RULES = [
  ["diffusion", ["DIFFUSION", "ADC", "TRACE", "FA", "EADC", "TENSOR"],
    /\b(dwi|dti|adc|diffusion|diff|trace|tensor|ep2d diff|resolve|b ?= ?\d{3,4}|b\d{3,4})\b/,
    "The header says this is a diffusion image (DWI, ADC, trace or DTI); the model was trained on " +
    "T1, T2 and FLAIR slices only."],
  ["epi", [], /\b(epi|ep2d\w*|bold|fmri|resting|perfusion|dsc|pwi|asl|pcasl)\b/,
    "The header says this is an EPI image (fMRI, BOLD or perfusion); the model was trained on T1, T2 " +
    "and FLAIR slices only."],
  ["localizer", ["LOCALIZER"], /\b(localizer|localiser|loc|scout|survey|pilot|tripilot|aahead\w*|3pl\w*)\b/,
    "The header says this is a localiser (scout) image, taken to plan the scan, not a diagnostic slice."],
  ["angiography", ["MIP", "ANGIO", "SWI", "PHASE MAP"],
    /\b(mra|tof|angio\w*|swi|swan|venobold|susceptibility|mip|minip)\b/,
    "The header says this is angiography or a susceptibility image (MRA, TOF, SWI); the model was " +
    "trained on T1, T2 and FLAIR slices only."],
];
// Sequence names, first match wins, on the same description text.
const SEQUENCES = [
  ["FLAIR", /\b(flair|tirm|dark ?fluid)\b|flair/],
  ["T1 with contrast", /(\bt1|mprage|spgr|bravo|tfl).*(\+ ?c\b|\bpost|\bgad|\bgd\b|contrast|\bce\b)|(\+ ?c\b|\bpost|\bgad|\bgd\b|contrast).*(\bt1|mprage|spgr|bravo)|\bt1c\b|\bt1ce\b/],
  ["T1", /\bt1|mprage|spgr|bravo|tfl3d/],
  ["T2*", /\bt2\*|t2star|t2 star|\bgre\b/],
  ["T2", /\bt2|\btse\b|\bfse\b|\bhaste\b/],
  ["PD", /\bpd\b|proton density/],
];

const words = (header) => ["SeriesDescription", "ProtocolName", "SequenceName"]
  .map((k) => header[k] ?? "").join(" ").replace(/[_-]+/g, " ").toLowerCase();

// Python's round(x, 1) and `:g` formatting for the tilt.
const round1 = (x) => Math.round(x * 10) / 10;

/** ImageOrientationPatient -> {plane: axial | coronal | sagittal | null, tilt: degrees from axial | null}. */
export function planeOf(orientation) {
  if (!orientation || orientation.length !== 6) return { plane: null, tilt: null };
  const [r, c] = [orientation.slice(0, 3).map(Number), orientation.slice(3).map(Number)];
  const n = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]];
  const length = Math.hypot(...n);
  if (length < 1e-6) return { plane: null, tilt: null };
  const unit = n.map((v) => Math.abs(v) / length);
  let best = 0;
  for (let i = 1; i < 3; i += 1) if (unit[i] > unit[best]) best = i;
  return { plane: ["sagittal", "coronal", "axial"][best], tilt: round1((Math.acos(Math.min(1, unit[2])) * 180) / Math.PI) };
}

/**
 * Header fields (DICOM keywords; ImageType and ScanningSequence as arrays) -> {withheld, codes,
 * reasons, sequence, plane, tilt, label}.
 */
export function judge(header) {
  const codes = [];
  const reasons = [];
  const withhold = (code, message) => { codes.push(code); reasons.push(message); };
  const modality = String(header.Modality ?? "").toUpperCase();
  const imageType = new Set((header.ImageType ?? []).map((v) => String(v).toUpperCase()));
  const text = words(header);
  if (modality && modality !== "MR") withhold("modality", `The header says this is modality ${modality}, not MR: the model reads brain MRI only.`);
  const sop = String(header.SOPClassUID ?? "");
  if (sop === SECONDARY_CAPTURE || sop.startsWith(`${SECONDARY_CAPTURE}.`) || imageType.has("SCREEN SAVE") || imageType.has("REPORT")) {
    withhold("secondary-capture", "The header says this is a secondary capture (a screenshot, report " +
      "or drawing saved as DICOM), not an acquired slice.");
  }
  const scanning = new Set((header.ScanningSequence ?? []).map((v) => String(v).toUpperCase()));
  const bvalue = header.DiffusionBValue;
  for (const [code, types, pattern, message] of RULES) {
    if (code === "epi" && codes.includes("diffusion")) continue; // diffusion is acquired with EPI: one reason is enough
    const hit = types.some((t) => imageType.has(t)) || pattern.test(text) ||
      (code === "diffusion" && bvalue != null && Number(bvalue) > 0) || (code === "epi" && scanning.has("EP"));
    if (hit) withhold(code, message);
  }
  const { plane, tilt } = planeOf(header.ImageOrientationPatient);
  if (tilt !== null && tilt > MAX_AXIAL_TILT_DEGREES) {
    withhold("plane", `The slice plane is ${tilt} degrees from axial (${plane}); the model was ` +
      `trained on axial slices only, so the page withholds planes more than ${MAX_AXIAL_TILT_DEGREES} degrees from axial.`);
  }
  const sequence = SEQUENCES.find(([, pattern]) => pattern.test(text))?.[0] ?? null;
  const label = [sequence, plane].filter(Boolean).join(", ") || null;
  return { withheld: codes.length > 0, codes, reasons, sequence, plane, tilt, label };
}

/** A series as a whole: withheld when any of its files is, every reason once; the first file's sequence and plane. */
export function judgeSeries(headers) {
  const judged = headers.map(judge);
  const codes = [];
  const reasons = [];
  for (const j of judged) {
    j.codes.forEach((code, i) => { if (!codes.includes(code)) { codes.push(code); reasons.push(j.reasons[i]); } });
  }
  return { ...judged[0], withheld: codes.length > 0, codes, reasons };
}

const TAG = {
  Modality: "x00080060", SOPClassUID: "x00080016", ImageType: "x00080008", SeriesDescription: "x0008103e",
  ProtocolName: "x00181030", SequenceName: "x00180024", ScanningSequence: "x00180020",
  ImageOrientationPatient: "x00200037", DiffusionBValue: "x00189087",
  sharedGroups: "x52009229", planeOrientation: "x00209116",
};

/** The fields judge reads, from dicom-parser's data set (classic or enhanced). */
export function headerOf(dataSet) {
  const text = (tag) => dataSet.string(tag) ?? null;
  const listed = (tag) => (dataSet.string(tag) ? dataSet.string(tag).split("\\") : []);
  const orientationIn = (set) => (set?.elements[TAG.ImageOrientationPatient]
    ? Array.from({ length: 6 }, (_, i) => set.floatString(TAG.ImageOrientationPatient, i)) : null);
  const shared = dataSet.elements[TAG.sharedGroups]?.items?.[0]?.dataSet;
  const plane = shared?.elements[TAG.planeOrientation]?.items?.[0]?.dataSet;
  const b = dataSet.elements[TAG.DiffusionBValue] ? dataSet.double(TAG.DiffusionBValue) : null;
  return {
    Modality: text(TAG.Modality), SOPClassUID: text(TAG.SOPClassUID), ImageType: listed(TAG.ImageType),
    SeriesDescription: text(TAG.SeriesDescription), ProtocolName: text(TAG.ProtocolName),
    SequenceName: text(TAG.SequenceName), ScanningSequence: listed(TAG.ScanningSequence),
    ImageOrientationPatient: orientationIn(dataSet) ?? orientationIn(plane),
    DiffusionBValue: Number.isFinite(b) ? b : null,
  };
}
