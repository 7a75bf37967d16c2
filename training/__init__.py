"""Training stage: read folders of MRI slices, train and compare CNNs, export the best."""
