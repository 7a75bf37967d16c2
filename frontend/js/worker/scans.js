// Files -> a scan: one NIfTI volume, or the files of one DICOM series, read into scaled axial
// slices (volume.js) in the page's one convention. DOM-free: Node tests it, the worker runs it.
import { isDicom } from "../shared/files.js";
import { looksLikeNifti, readNifti } from "./nifti.js";
import { readSeries } from "./series.js";
import { MAX_VOXELS, VolumeError, axialLayout, scaledAxialSlices } from "./volume.js";

const named = (file, fallback) => (typeof file?.name === "string" && file.name ? file.name : fallback);

/**
 * A NIfTI Blob, or the Blobs of one DICOM series (any order) -> {name, volume: {slices, count,
 * rows, columns}, notes, scope (a DICOM series: scope.js judgeSeries; a NIfTI volume: none),
 * slices (a DICOM series whose files are the axial slices: [{instance, position}] per slice; else
 * none)}. Throws VolumeError with a sentence naming the file or series.
 */
export async function readScan(fileOrFiles, { name = null, maxVoxels = MAX_VOXELS } = {}) {
  const files = Array.isArray(fileOrFiles) ? fileOrFiles : [fileOrFiles];
  if (!files.length) throw new VolumeError("No file was given.");
  if (files.length === 1 && await looksLikeNifti(files[0])) {
    const label = name ?? named(files[0], "volume");
    const voxels = await readNifti(files[0], { name: label, maxVoxels });
    return { name: label, volume: scaledAxialSlices({ ...voxels, name: label }), notes: voxels.notes };
  }
  const label = name ?? (files.length === 1 ? named(files[0], "the file") : `the series of ${files.length} files`);
  const read = [];
  for (const [i, file] of files.entries()) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const fileName = named(file, `file ${i + 1}`);
    if (!isDicom(bytes)) {
      throw new VolumeError(`${fileName} is neither a NIfTI volume nor a DICOM file; a scan is one .nii/.nii.gz ` +
        "file or the DICOM files of one series.");
    }
    read.push({ name: fileName, bytes });
  }
  const voxels = await readSeries(read, label);
  const volume = scaledAxialSlices({ ...voxels, name: label });
  // A slice is one of the series' own images only when the series is cut axially (else the axial
  // slices cross them): then it has their InstanceNumber and position.
  const own = axialLayout(voxels.affine).axes[2] === 2;
  return { name: label, volume, notes: voxels.notes, scope: voxels.scope, slices: own ? voxels.slices : null };
}
