"""augment in JAX: one jitted function per batch. Two depthwise convolutions (the separable
Gaussian, lax.conv_general_dilated with a group per displacement channel) smooth the fields;
each image is sampled bilinearly by jax.scipy.ndimage.map_coordinates (order 1, zeros
outside), vmapped over the batch. The draws come from a key the model carries, split inside
their own jitted function.

Mixed modes run the smoothing convolutions (the products) on bf16/fp16 operands with float32
results; coordinates and pixels stay float32, as the other frameworks keep them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...harness.frameworks.jax_fw import JaxFramework
from ...harness.plan.workload import Params
from .bench import AugmentBench
from .draws import Draws, gaussian_kernel, gaussian_radius

CONV_LAYOUT = ("NCHW", "OIHW", "NCHW")


class JaxAugment:
    def __init__(self, fw: JaxFramework, p: Params) -> None:
        jax = fw.jax
        self.fw, self.p, self.dtype = fw, p, fw.dtype
        side = p.integer("side")
        self.c = (side - 1) / 2
        y, x = np.mgrid[0:side, 0:side] - self.c
        self.x, self.y = fw.put(x), fw.put(y)
        k = gaussian_kernel(p.number("sigma"))
        # One filter per displacement channel (x, y), OIHW: vertical, then horizontal.
        self.ky = fw.put(np.tile(k.reshape(1, 1, -1, 1), (2, 1, 1, 1)), fw.compute_dtype)
        self.kx = fw.put(np.tile(k.reshape(1, 1, 1, -1), (2, 1, 1, 1)), fw.compute_dtype)
        self.r = gaussian_radius(p.number("sigma"))
        self.key = fw.next_key()
        self._apply = jax.jit(self.warp)
        self._draws = jax.jit(self.drawn, static_argnums=1)

    def to_device(self, images: np.ndarray) -> Any:
        return self.fw.put(images)

    def to_numpy(self, images: Any) -> np.ndarray:
        return np.asarray(images).astype(np.float64)

    def draws(self, n: int) -> Draws:
        self.key, d = self._draws(self.key, n)
        return d

    def drawn(self, key: Any, n: int) -> tuple[Any, Draws]:
        jax, p, side, dt = self.fw.jax, self.p, self.p.integer("side"), self.dtype
        key, *keys = jax.random.split(key, 6)
        rot = math.radians(p.number("rotate"))

        def uniform(k: Any, shape: tuple[int, ...], lo: float, hi: float) -> Any:
            return jax.random.uniform(k, shape, dt, lo, hi)

        return key, Draws(angle=uniform(keys[0], (n,), -rot, rot),
                          scale=uniform(keys[1], (n,), p.number("scale_min"), p.number("scale_max")),
                          shift=uniform(keys[2], (n, 2), -p.number("shift"), p.number("shift")),
                          field=uniform(keys[3], (n, 2, side, side), -1.0, 1.0),
                          noise=jax.random.normal(keys[4], (n, side, side), dt))

    def from_numpy(self, d: Draws) -> Draws:
        return Draws(*(self.fw.put(a) for a in d))

    def probe_step(self, images: Any) -> tuple[Any, tuple[Any, ...]]:
        """The jitted function a step runs on `images` and its arguments, for the probe."""
        return self._apply, (images, self.draws(len(images)))

    def apply(self, images: Any, d: Draws) -> Any:
        """Warp, add noise and clip a batch (n, side, side) with the given draws."""
        return self._apply(images, d).block_until_ready()

    def smooth(self, field: Any) -> Any:
        """α·(G_σ ∗ U) with zero padding, the convolutions in the compute dtype."""
        fw, r = self.fw, self.r
        f = field
        for kernel, pad in ((self.ky, ((r, r), (0, 0))), (self.kx, ((0, 0), (r, r)))):
            f = fw.jax.lax.conv_general_dilated(
                f.astype(fw.compute_dtype), kernel, (1, 1), pad, dimension_numbers=CONV_LAYOUT,
                feature_group_count=2, preferred_element_type=fw.product_dtype)
        return f.astype(self.dtype) * self.p.number("alpha")

    def warp(self, images: Any, d: Draws) -> Any:
        jax, jnp, c = self.fw.jax, self.fw.jnp, self.c
        field = self.smooth(d.field)
        cos = (jnp.cos(d.angle) / d.scale)[:, None, None]
        sin = (jnp.sin(d.angle) / d.scale)[:, None, None]
        xs = cos * self.x - sin * self.y + (c + d.shift[:, 0, None, None]) + field[:, 0]
        ys = sin * self.x + cos * self.y + (c + d.shift[:, 1, None, None]) + field[:, 1]

        def sample(image: Any, rows: Any, cols: Any) -> Any:
            return jax.scipy.ndimage.map_coordinates(image, [rows, cols], order=1,
                                                     mode="constant", cval=0.0)

        out = jax.vmap(sample)(images, ys, xs) + self.p.number("noise") * d.noise
        return jnp.clip(out, 0.0, 1.0)


class JaxAugmentBench(AugmentBench):
    fw: JaxFramework  # the adapter this implementation runs under, typed
    model_cls = JaxAugment

    def probe_steps(self) -> list[tuple[Any, tuple[Any, ...]]]:
        return [self.model.probe_step(self.batches[0])]
