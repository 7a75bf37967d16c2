// What the model card says about each training collection, keyed by its folder name
// (metadata.json training.data lists the folders): where it comes from, whom to cite, and the
// sequences and planes its slices show. DOM-free.

export const COLLECTIONS = Object.freeze({
  "brain-mri-4class": {
    title: "Brain Tumor MRI Dataset (Nickparvar, Kaggle 2021)",
    source: "mostly T1 with contrast; merged from the figshare set of Cheng et al., Sartaj Bhuvaji's set and Br35H",
    cite: "Nickparvar 2021; Cheng et al., PLoS ONE 2015, doi:10.1371/journal.pone.0140381",
    sequences: ["T1 with contrast", "T2", "FLAIR"],
    planes: ["axial", "coronal", "sagittal"],
  },
  "brain-mri-lgg-flair": {
    title: "TCGA lower-grade glioma FLAIR slices (Buda et al. 2019, from The Cancer Imaging Archive)",
    source: "110 patients of TCGA-LGG; tumour and normal slices of the same patients",
    cite: "Buda et al., Computers in Biology and Medicine 2019; TCIA TCGA-LGG collection",
    sequences: ["FLAIR"],
    planes: ["axial"],
  },
  "brain-mri-brats": {
    title: "BraTS 2018 training cases",
    source: "20 glioma patients, skull-stripped, all four sequences of each",
    cite: "Menze et al., IEEE TMI 2015; Bakas et al., Sci Data 2017; Bakas et al., arXiv:1811.02629",
    sequences: ["FLAIR", "T1", "T1 with contrast", "T2"],
    planes: ["axial"],
  },
  "brain-mri-alzheimer-t1": {
    title: "Alzheimer's Dataset, 4 classes of images (Kaggle, ODbL 1.0)",
    source: "skull-stripped slices of elderly people with and without dementia, probably OASIS-1; no tumours",
    cite: "OASIS-1: Marcus et al., J Cogn Neurosci 2007",
    sequences: ["T1"],
    planes: ["axial"],
  },
  "brain-mri-openneuro-t1": {
    title: "OpenNeuro ds000177 (public domain)",
    source: "11 healthy volunteers, 3 T MPRAGE, skull kept; no tumours",
    cite: "OpenNeuro ds000177",
    sequences: ["T1"],
    planes: ["axial"],
  },
  "brain-mri-yes-no": {
    title: "Brain MRI Images for Brain Tumor Detection (Chakrabarty, Kaggle 2019)",
    source: "tumour and no-tumour scans of mixed origin",
    cite: "Chakrabarty 2019",
    sequences: ["mixed, mostly T1 and T2"],
    planes: ["mostly axial"],
  },
});

const folderName = (path) => String(path).split(/[\\/]/).filter(Boolean).pop() ?? String(path);

/** A training folder (path or name) -> its catalogue entry plus `folder`, or a bare {folder}. */
export function collectionOf(path) {
  const folder = folderName(path);
  return { folder, ...(COLLECTIONS[folder] ?? {}) };
}

/** The sequences and planes of these folders, each listed once, in catalogue order. */
export function sequencesAndPlanes(paths) {
  const known = [].concat(paths ?? []).map(collectionOf).filter((c) => c.sequences);
  const unique = (key) => [...new Set(known.flatMap((c) => c[key]))];
  return { sequences: unique("sequences"), planes: unique("planes"), unknown: [].concat(paths ?? []).length - known.length };
}
