"""Conversion stage: the trained Keras `.h5` -> a TF.js graph model the page runs, proven to agree.

`python -m convert --help` converts and verifies; `python -m convert.report --help` measures the
quantisation options. This module stays free of TensorFlow imports so that `--help` and argument
errors answer at once.
"""

# How the converted model may store its weights: float32 ("none"), or quantised by tensorflowjs.
QUANTIZATIONS = ("none", "float16", "uint8")
WEIGHT_FORMATS = {"none": "float32", "float16": "float16", "uint8": "uint8"}


class ConversionError(Exception):
    """The model could not be converted; the message names the file, the cause and what to do."""


class ParityError(ConversionError):
    """The converted model gives answers the Keras model does not; the message shows where."""
