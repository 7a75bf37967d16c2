"""Native Keras at batch 1 on the page's images, the figure the page is compared with: decode and
preprocess (mri.images, the page's Python twin) and the model, timed apart, three ways of calling it."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

NATIVE_WARMUP = 10  # unmeasured calls first (graph tracing, first allocations)
PREDICT_RUNS = 30  # model.predict is slow per call; fewer runs give its p50 well enough


def measure_native(model_dir: Path, images, runs: int) -> dict:
    """model_dir/model.h5 in TensorFlow, batch 1, on `images` ((name, bytes) pairs): decode +
    preprocess (mri.images.load_model_input) and the model, timed apart, three ways of calling it."""
    # Imported here: the command reads its flags (and sets TF_CPP_MIN_LOG_LEVEL) before TensorFlow starts.
    import tensorflow as tf

    from mri.images import load_model_input
    from mri.layers import load_model

    metadata = json.loads((model_dir / "metadata.json").read_text())
    h, w, c = (metadata["input"][k] for k in ("height", "width", "channels"))
    model = load_model(str(model_dir / "model.h5"))
    # As the API serves it (site/mri_site/classifier.py): one traced graph, fixed signature.
    compiled = tf.function(lambda x: model(x, training=False),
                           input_signature=[tf.TensorSpec((1, h, w, c), tf.float32)])

    def prepare(i: int) -> np.ndarray:
        name, data = images[i % len(images)]
        return load_model_input(data, h, w, c, name)[None]

    def timed(call, count: int) -> list[float]:
        for i in range(NATIVE_WARMUP):
            call(prepare(i))
        times = []
        for i in range(count):
            x = prepare(i)
            started = time.perf_counter()
            call(x)
            times.append((time.perf_counter() - started) * 1000)
        return times

    decode = []
    for i in range(runs):
        started = time.perf_counter()
        prepare(i)
        decode.append((time.perf_counter() - started) * 1000)
    return {
        "decode": decode,
        "compiled": timed(lambda x: compiled(x).numpy(), runs),
        "eager": timed(lambda x: model(x, training=False).numpy(), runs),
        "predict": timed(lambda x: model.predict(x, verbose=0), PREDICT_RUNS),
        "tensorflow": tf.__version__,
        "threads": (tf.config.threading.get_intra_op_parallelism_threads() or "all cores",
                    tf.config.threading.get_inter_op_parallelism_threads() or "all cores"),
        "parameters": model.count_params(),
    }
