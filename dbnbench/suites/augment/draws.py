"""The transform parameters, drawn in NumPy: the one place all three frameworks take them from
when they must agree (the quality check), and the definition of their distributions."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ...harness.plan.workload import Params


class Draws(NamedTuple):
    """One batch's random transform parameters (n images of side×side). A NamedTuple, so
    tf.function takes it as a nest of tensors."""

    angle: np.ndarray  # (n,) radians, uniform ±rotate
    scale: np.ndarray  # (n,) zoom, uniform [scale_min, scale_max]
    shift: np.ndarray  # (n, 2) pixels (x, y), uniform ±shift
    field: np.ndarray  # (n, 2, side, side) raw displacements (x, y), uniform(−1, 1), unsmoothed
    noise: np.ndarray  # (n, side, side) standard normal


def draw(rng: np.random.Generator, n: int, p: Params, dtype: Any = np.float64) -> Draws:
    """Parameters for `n` images under the workload parameters `p`."""
    side, rot = p.integer("side"), math.radians(p.number("rotate"))
    return Draws(
        angle=rng.uniform(-rot, rot, n).astype(dtype),
        scale=rng.uniform(p.number("scale_min"), p.number("scale_max"), n).astype(dtype),
        shift=rng.uniform(-p.number("shift"), p.number("shift"), (n, 2)).astype(dtype),
        field=rng.uniform(-1.0, 1.0, (n, 2, side, side)).astype(dtype),
        noise=rng.standard_normal((n, side, side), dtype=np.float64).astype(dtype),
    )


def identity(n: int, side: int) -> Draws:
    """Draws that leave an image unchanged (with alpha or noise, zero field and noise)."""
    return Draws(angle=np.zeros(n), scale=np.ones(n), shift=np.zeros((n, 2)),
                 field=np.zeros((n, 2, side, side)), noise=np.zeros((n, side, side)))


def gaussian_radius(sigma: float) -> int:
    """Half-width of the smoothing kernel: 3σ, rounded as scipy.ndimage rounds `truncate·σ`."""
    return int(3.0 * sigma + 0.5)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The normalised 1-D Gaussian every framework smooths with (scipy.ndimage's, radius 3σ)."""
    r = gaussian_radius(sigma)
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def quality_images(side: int, seed: int, n: int) -> np.ndarray:
    """`n` real digit images (scikit-learn's 8×8, held-out split) upsampled bilinearly to
    side×side, float64 in [0, 1]: strokes with edges, so interpolation errors show."""
    from scipy import ndimage

    from ..data import digits

    x_test = digits(seed)[2][:n].reshape(-1, 8, 8)
    zoom = (1.0, side / 8, side / 8)
    return np.clip(ndimage.zoom(x_test, zoom, order=1, mode="nearest"), 0.0, 1.0)
