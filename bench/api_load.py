"""The load on POST /api/predict: the images uploaded, their multipart bodies, and the client
threads that send them (each on its own keep-alive connection, every answer checked)."""
from __future__ import annotations

import http.client
import io
import json
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("MRI_DATA_DIR", REPO.parent / "shared" / "data"))
REQUEST_TIMEOUT_S = 30


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def bench_images(count: int, size: int) -> tuple[list[bytes], str]:
    """`count` PNGs of size x size: real slices when the data is here, generated ones otherwise."""
    root = DATA_DIR / "brain-mri-4class"
    if root.is_dir():
        paths = sorted(p for folder in sorted(root.iterdir()) if folder.is_dir()
                       for p in sorted(folder.iterdir())[: count // 4 + 1])[:count]
        images = [png(Image.open(p).convert("L").resize((size, size), Image.BILINEAR)) for p in paths]
        return images, f"{len(images)} real slices from {root.name}, resized to {size} px, PNG"
    rng = np.random.default_rng(0)
    images = [png(Image.fromarray(rng.integers(0, 255, (size, size), np.uint8))) for _ in range(count)]
    return images, f"{count} generated {size} px noise PNGs (no real data at {DATA_DIR})"


def multipart(data: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def run_clients(port: int, images: list[bytes], total: int, clients: int) -> dict:
    """`total` requests from `clients` threads; returns latencies, server ms and errors."""
    bodies = [multipart(data, f"slice{i}.png") for i, data in enumerate(images)]
    counter = iter(range(total))
    lock = threading.Lock()
    latencies, server_ms, errors = [], [], []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body, content_type = bodies[i % len(bodies)]
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/predict", body, {"Content-Type": content_type})
                response = conn.getresponse()
                payload = response.read()
                elapsed = (time.perf_counter() - started) * 1000.0
                answer = json.loads(payload)
                if response.status != 200 or "probabilities" not in answer:
                    raise ValueError(f"{response.status} {payload[:200]!r}")
                with lock:
                    latencies.append(elapsed)
                    server_ms.append(answer["ms"])
            except Exception as err:  # every failure is counted and shown, none stops the run
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - started, "latencies": latencies,
            "server_ms": server_ms, "errors": errors}


def api_probabilities(port: int, data: bytes, name: str) -> dict:
    """One upload's answer, its probabilities by label; RuntimeError unless it is a 200."""
    body, content_type = multipart(data, name)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("POST", "/api/predict", body, {"Content-Type": content_type})
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"/api/predict answered {response.status} for {name}: {answer}")
    return answer["probabilities"]
