"""What every stage shares: decoding an image, DICOM file, NIfTI volume or DICOM series to the
model's input, the model contract (metadata.json), the custom layers and `load_model`.
Training, the converter, the site and the benchmarks import it; it imports none of them."""
