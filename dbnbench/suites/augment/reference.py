"""augment's reference: a second, independent float64 formulation of the transform that
spec.py's docstring defines, which every framework (NumPy included) is scored against.

It shares no code with the implementations: the smoothing is the separable Gaussian written
as direct sums over the kernel's taps with zero padding (not scipy.ndimage), the source
points come from the formula term by term, and the bilinear lookup is np.floor and four
corner gathers against a zero border (not map_coordinates, grid_sample or tf.gather). It is
written for clarity, not speed: the quality batch is a few dozen images."""

from __future__ import annotations

import math

import numpy as np

from ...harness.plan.workload import Params
from .draws import Draws


def gaussian_taps(sigma: float) -> np.ndarray:
    """The normalised Gaussian of width σ, truncated at radius round(3σ) (as the spec's
    smoothing is defined: scipy.ndimage's truncate = 3, which rounds 3σ + 0.5 down)."""
    radius = math.floor(3.0 * sigma + 0.5)
    taps = np.array([math.exp(-(t * t) / (2.0 * sigma * sigma))
                     for t in range(-radius, radius + 1)])
    return taps / taps.sum()


def smooth_axis(u: np.ndarray, taps: np.ndarray, axis: int) -> np.ndarray:
    """out[i] = Σ_t taps[t]·u[i + t − r] along `axis`, reading 0 outside the array."""
    r, n = len(taps) // 2, u.shape[axis]
    out = np.zeros_like(u)
    for t, weight in enumerate(taps):
        offset = t - r  # out[i] takes u[i + offset]
        lo, hi = max(0, -offset), min(n, n - offset)  # the i with i + offset inside [0, n)
        if lo >= hi:
            continue
        dst = [slice(None)] * u.ndim
        src = [slice(None)] * u.ndim
        dst[axis], src[axis] = slice(lo, hi), slice(lo + offset, hi + offset)
        out[tuple(dst)] += weight * u[tuple(src)]
    return out


def source_points(d: Draws, p: Params) -> tuple[np.ndarray, np.ndarray]:
    """src(p) = c + R(θ)·(p − c)/s + t + α·(G_σ ∗ U)(p) for every output pixel: (x, y), each
    (n, side, side), x along columns and y along rows."""
    side = p.integer("side")
    c = (side - 1) / 2.0
    taps = gaussian_taps(p.number("sigma"))
    # U's last two axes are (row, column); smooth down the rows, then along the columns.
    smoothed = smooth_axis(smooth_axis(np.asarray(d.field, np.float64), taps, 2), taps, 3)
    rows, cols = np.meshgrid(np.arange(side, dtype=np.float64), np.arange(side, dtype=np.float64),
                             indexing="ij")
    dx, dy = cols - c, rows - c
    theta = np.asarray(d.angle, np.float64)[:, None, None]
    s = np.asarray(d.scale, np.float64)[:, None, None]
    shift = np.asarray(d.shift, np.float64)
    x = c + (np.cos(theta) * dx - np.sin(theta) * dy) / s + shift[:, 0, None, None] \
        + p.number("alpha") * smoothed[:, 0]
    y = c + (np.sin(theta) * dx + np.cos(theta) * dy) / s + shift[:, 1, None, None] \
        + p.number("alpha") * smoothed[:, 1]
    return x, y


def pixel(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """images[k, rows, cols] for each image k, and 0 where (rows, cols) is outside it."""
    n, side, _ = images.shape
    inside = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    r, q = np.where(inside, rows, 0), np.where(inside, cols, 0)
    k = np.arange(n)[:, None, None]
    return np.where(inside, images[k, r, q], 0.0)


def bilinear(images: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each image sampled at (x, y): the four surrounding pixels weighted by the fractional
    parts, a pixel outside the image reading 0."""
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    c0, r0 = x0.astype(np.int64), y0.astype(np.int64)
    return ((1 - fy) * ((1 - fx) * pixel(images, r0, c0) + fx * pixel(images, r0, c0 + 1))
            + fy * ((1 - fx) * pixel(images, r0 + 1, c0) + fx * pixel(images, r0 + 1, c0 + 1)))


def reference(images: np.ndarray, d: Draws, p: Params) -> np.ndarray:
    """The transform of spec.py in float64: warp, add noise, clip to [0, 1]."""
    images = np.asarray(images, np.float64)
    x, y = source_points(d, p)
    out = bilinear(images, x, y) + p.number("noise") * np.asarray(d.noise, np.float64)
    return np.clip(out, 0.0, 1.0)
