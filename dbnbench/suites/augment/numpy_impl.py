"""augment in NumPy/SciPy: scipy.ndimage smooths the displacement fields and samples the whole
batch in one map_coordinates call. Scored, like the other frameworks, against reference.py.

SciPy's ndimage interpolates in double internally whatever the array dtype; fp32 here means
float32 draws, coordinates, fields and images."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ...harness.frameworks.numpy_fw import NumpyFramework
from ...harness.plan.workload import Params
from .bench import AugmentBench
from .draws import Draws, draw, gaussian_radius


class NumpyAugment:
    def __init__(self, fw: NumpyFramework, p: Params) -> None:
        self.p, self.dtype = p, fw.dtype
        self.rng = fw.rng
        side = p.integer("side")
        c = (side - 1) / 2
        y, x = np.mgrid[0:side, 0:side].astype(self.dtype)
        self.x, self.y = x - c, y - c  # output pixel positions relative to the centre

    def to_device(self, images: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(images, dtype=self.dtype)

    def to_numpy(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(images, dtype=np.float64)

    def draws(self, n: int) -> Draws:
        return draw(self.rng, n, self.p, self.dtype)

    def from_numpy(self, d: Draws) -> Draws:
        return Draws(*(np.asarray(a, dtype=self.dtype) for a in d))

    def apply(self, images: np.ndarray, d: Draws) -> np.ndarray:
        """Warp, add noise and clip a batch (n, side, side) with the given draws."""
        p, n, side = self.p, len(images), self.p.integer("side")
        r = gaussian_radius(p.number("sigma"))
        # Smooth only the two image axes; mode "constant" is zero padding, as conv2d pads.
        field = ndimage.gaussian_filter(d.field, sigma=(0, 0, p.number("sigma"), p.number("sigma")),
                                        mode="constant", radius=(0, 0, r, r))
        field *= p.number("alpha")
        cos = (np.cos(d.angle) / d.scale)[:, None, None]
        sin = (np.sin(d.angle) / d.scale)[:, None, None]
        c = (side - 1) / 2
        coords = np.empty((3, n, side, side), dtype=self.dtype)
        coords[0] = np.arange(n, dtype=self.dtype)[:, None, None]
        # Row (y) then column (x): map_coordinates indexes the array axes in order.
        coords[1] = sin * self.x + cos * self.y + (c + d.shift[:, 1, None, None]) + field[:, 1]
        coords[2] = cos * self.x - sin * self.y + (c + d.shift[:, 0, None, None]) + field[:, 0]
        # The batch coordinate is an exact integer, so the trilinear weights along it are 0
        # and 1: one call does every image's bilinear lookup. "grid-constant" interpolates
        # against zeros outside the image, as grid_sample's zero padding does.
        out = ndimage.map_coordinates(images, coords, order=1, mode="grid-constant", cval=0.0,
                                      prefilter=False)
        out += p.number("noise") * d.noise
        return np.clip(out, 0.0, 1.0, out=out)


class NumpyAugmentBench(AugmentBench):
    fw: NumpyFramework  # the adapter this implementation runs under, typed
    model_cls = NumpyAugment
