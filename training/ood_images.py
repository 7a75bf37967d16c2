"""Generated images that are not brain MRI, for measuring out-of-distribution rules
(training/feature_scope.py): plain non-MRI pictures, MRI phantoms and grey line drawings.
Each generator takes a numpy Generator and gives a uint8 array (H x W gray or H x W x 3 colour).
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = 256
WORDS = ("patient", "report", "scan", "brain", "the", "and", "result", "image", "normal", "of", "slice", "MRI")


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(out, "PNG")
    return out.getvalue()


def _colour(rng, low=0, high=256) -> tuple:
    return tuple(int(v) for v in rng.integers(low, high, 3))


def _noise_photo(rng) -> np.ndarray:
    """Colour low-frequency noise with blurred shapes: the light and shade of a photograph."""
    coarse = rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8)
    image = Image.fromarray(coarse).resize((SIZE, SIZE), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 10))):
        x0, y0 = (int(v) for v in rng.integers(-40, SIZE, 2))
        box = [x0, y0, x0 + int(rng.integers(20, 140)), y0 + int(rng.integers(20, 140))]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=_colour(rng))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(2)))


def _gradient(rng) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[:SIZE, :SIZE] / SIZE
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / (t.max() - t.min())
    a, b = (rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)) if rng.random() < 0.5 else \
        (np.full(3, rng.uniform(0, 80)), np.full(3, rng.uniform(170, 255)))
    return a + (b - a) * t[..., None]


def _text(rng) -> np.ndarray:
    """Rendered text lines, dark on light or light on dark."""
    dark_page = rng.random() < 0.5
    page, ink = (int(rng.integers(0, 30)), int(rng.integers(200, 256))) if dark_page else \
        (int(rng.integers(220, 256)), int(rng.integers(0, 60)))
    image = Image.new("L", (SIZE, SIZE), page)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(rng.integers(12, 26)))
    y = int(rng.integers(4, 20))
    while y < SIZE - 10:
        line = " ".join(str(rng.choice(WORDS)) for _ in range(6))
        draw.text((int(rng.integers(2, 20)), y), line, fill=ink, font=font)
        y += int(rng.integers(18, 34))
    return np.asarray(image)


def _blur(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)),
                      np.float32)


def _with_noise(rng, image: np.ndarray, low=2.0, high=8.0) -> np.ndarray:
    return image + rng.normal(0, rng.uniform(low, high), image.shape)


def _disc(rng) -> np.ndarray:
    """A water-bottle phantom seen end-on: a uniform bright disc on black, a little shading and noise."""
    yy, xx = np.mgrid[:SIZE, :SIZE] / SIZE
    cy, cx, r = rng.uniform(0.42, 0.58), rng.uniform(0.42, 0.58), rng.uniform(0.2, 0.4)
    level = rng.uniform(110, 230)
    shade = 1 + rng.uniform(-0.1, 0.1) * (xx - cx) / r
    image = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r) * level * shade
    return _with_noise(rng, _blur(image))


def _cylinder(rng) -> np.ndarray:
    """A bottle phantom from the side: a rounded rectangle, an air bubble at the top."""
    image = Image.new("F", (SIZE, SIZE), 0.0)
    draw = ImageDraw.Draw(image)
    w, h = int(rng.integers(70, 150)), int(rng.integers(130, 220))
    x0, y0 = (SIZE - w) // 2 + int(rng.integers(-15, 16)), (SIZE - h) // 2 + int(rng.integers(-15, 16))
    draw.rounded_rectangle([x0, y0, x0 + w, y0 + h], radius=int(rng.integers(8, 30)), fill=float(rng.uniform(110, 230)))
    draw.rectangle([x0 + 4, y0 + 4, x0 + w - 4, y0 + 4 + int(rng.integers(0, 25))], fill=0.0)
    return _with_noise(rng, _blur(np.asarray(image)))


def _grid(rng) -> np.ndarray:
    """A resolution / distortion phantom: a bright disc crossed by a grid of dark bars or holes."""
    image = _disc(rng)
    step = int(rng.integers(10, 24))
    if rng.random() < 0.5:
        bars = (np.arange(SIZE) % step) < max(2, step // 5)
        image = image * ~(bars[None, :] | bars[:, None])
    else:
        yy, xx = np.mgrid[:SIZE, :SIZE] % step
        holes = (yy - step / 2) ** 2 + (xx - step / 2) ** 2 < (step / 4) ** 2
        image = image * ~holes
    return _with_noise(rng, image, 1.0, 4.0)


def _face(rng) -> np.ndarray:
    """A line drawing of a face on a grey page (light or dark grey)."""
    page = float(rng.uniform(90, 200)) if rng.random() < 0.5 else float(rng.uniform(15, 45))
    ink = float(rng.uniform(0, 40)) if page > 80 else float(rng.uniform(160, 255))
    image = Image.new("F", (SIZE, SIZE), page)
    draw = ImageDraw.Draw(image)
    width = int(rng.integers(2, 6))
    cx, cy = SIZE / 2 + rng.uniform(-15, 15), SIZE / 2 + rng.uniform(-15, 15)
    rx, ry = rng.uniform(60, 100), rng.uniform(80, 115)
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], outline=ink, width=width)
    for side in (-1, 1):
        ex, ey, er = cx + side * rx * 0.4, cy - ry * 0.25, rng.uniform(6, 15)
        draw.ellipse([ex - er, ey - er * 0.6, ex + er, ey + er * 0.6], outline=ink, width=width)
        draw.line([ex - er, ey - er * 1.4, ex + er, ey - er * 1.6], fill=ink, width=width)
    draw.line([cx, cy - ry * 0.1, cx - 8, cy + ry * 0.2, cx + 4, cy + ry * 0.25], fill=ink, width=width)
    mw = rx * rng.uniform(0.3, 0.6)
    draw.arc([cx - mw, cy + ry * 0.25, cx + mw, cy + ry * 0.6], 20, 160, fill=ink, width=width)
    return _with_noise(rng, np.asarray(image), 0.5, 3.0)


# family -> {kind: generator}
FAMILIES = {
    "non-MRI": {"colour photo-like noise": _noise_photo, "gradient": _gradient, "text render": _text},
    "phantom": {"water-bottle disc": _disc, "bottle from the side": _cylinder, "grid phantom": _grid},
    "drawing": {"face line drawing on grey": _face},
}


def generated(per_family: int, seed: int) -> dict[str, dict[str, list[bytes]]]:
    """{family: {kind: [PNG bytes]}}, `per_family` images per family split evenly over its kinds."""
    rng = np.random.default_rng(seed)
    return {family: {kind: [png(make(rng)) for _ in range(per_family // len(kinds))] for kind, make in kinds.items()}
            for family, kinds in FAMILIES.items()}
