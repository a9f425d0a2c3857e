"""augment in TensorFlow: one tf.function per batch. Depthwise conv2d smooths the fields; the
bilinear lookup is four tf.gather calls on the zero-bordered batch, as TF Addons'
dense_image_warp did (TF's own ImageProjectiveTransform op takes only a projective map, not the
per-pixel elastic field, and Keras's map_coordinates gathers eight corners for a batch).

Mixed modes cast the smoothing convolution (the one product) to the compute dtype and keep
coordinates and pixels in float32, as the RBM's mixed modes keep variables; `bf16` holds
images, draws and coordinates in bfloat16."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...harness.frameworks.tf_fw import TensorflowFramework
from ...harness.plan.workload import Params
from .bench import AugmentBench
from .draws import Draws, gaussian_kernel


class TensorflowAugment:
    def __init__(self, fw: TensorflowFramework, p: Params) -> None:
        tf = self.tf = fw.tf
        self.fw, self.p, self.dtype = fw, p, fw.dtype
        side = p.integer("side")
        with tf.device(fw.tf_device):
            k = tf.constant(gaussian_kernel(p.number("sigma")), fw.compute_dtype)
            # depthwise filters: (height, width, channels, 1), one per displacement channel.
            self.ky = tf.tile(tf.reshape(k, (-1, 1, 1, 1)), (1, 1, 2, 1))
            self.kx = tf.tile(tf.reshape(k, (1, -1, 1, 1)), (1, 1, 2, 1))
            c = (side - 1) / 2
            y, x = np.mgrid[0:side, 0:side] - c
            self.x, self.y = tf.constant(x, self.dtype), tf.constant(y, self.dtype)
        self.c = c
        self.apply = tf.function(self._apply)
        self.draws = tf.function(self._draws)

    def to_device(self, images: np.ndarray) -> Any:
        with self.tf.device(self.fw.tf_device):
            return self.tf.constant(np.ascontiguousarray(images), self.dtype)

    def to_numpy(self, images: Any) -> np.ndarray:
        return images.numpy().astype(np.float64)

    def _draws(self, n: int) -> Draws:
        g, p, side, dt = self.fw.generator, self.p, self.p.integer("side"), self.dtype
        rot = math.radians(p.number("rotate"))
        return Draws(angle=g.uniform((n,), -rot, rot, dt),
                     scale=g.uniform((n,), p.number("scale_min"), p.number("scale_max"), dt),
                     shift=g.uniform((n, 2), -p.number("shift"), p.number("shift"), dt),
                     field=g.uniform((n, 2, side, side), -1.0, 1.0, dt),
                     noise=g.normal((n, side, side), dtype=dt))

    def from_numpy(self, d: Draws) -> Draws:
        return Draws(*(self.to_device(a) for a in d))

    def _smooth(self, field: Any) -> Any:
        """α·(G_σ ∗ U), NHWC, zero padding ('SAME' pads an odd kernel by its radius)."""
        tf = self.tf
        f = tf.cast(tf.transpose(field, (0, 2, 3, 1)), self.fw.compute_dtype)
        f = tf.nn.depthwise_conv2d(f, self.ky, (1, 1, 1, 1), "SAME")
        f = tf.nn.depthwise_conv2d(f, self.kx, (1, 1, 1, 1), "SAME")
        return tf.cast(f, self.dtype) * tf.constant(self.p.number("alpha"), self.dtype)

    def _apply(self, images: Any, d: Draws) -> Any:
        tf, c = self.tf, self.c
        field = self._smooth(d.field)
        cos = (tf.cos(d.angle) / d.scale)[:, None, None]
        sin = (tf.sin(d.angle) / d.scale)[:, None, None]
        xs = cos * self.x - sin * self.y + (c + d.shift[:, 0, None, None]) + field[..., 0]
        ys = sin * self.x + cos * self.y + (c + d.shift[:, 1, None, None]) + field[..., 1]
        out = self._bilinear(images, xs, ys) + self.p.number("noise") * d.noise
        return tf.clip_by_value(out, 0.0, 1.0)

    def _bilinear(self, images: Any, xs: Any, ys: Any) -> Any:
        """Sample each image at (xs, ys); points outside interpolate against zeros."""
        tf = self.tf
        n, side = tf.shape(images)[0], self.p.integer("side")
        # A one-pixel zero border: a corner index clipped into [−1, side] then reads 0.
        flat = tf.reshape(tf.pad(images, ((0, 0), (1, 1), (1, 1))), (-1,))
        x0, y0 = tf.floor(xs), tf.floor(ys)
        wx, wy = xs - x0, ys - y0
        row = side + 2
        base = tf.range(n)[:, None, None] * row * row + row + 1

        def tap(y: Any, x: Any) -> Any:
            y = tf.cast(tf.clip_by_value(y, -1.0, side), tf.int32)
            x = tf.cast(tf.clip_by_value(x, -1.0, side), tf.int32)
            return tf.gather(flat, base + y * row + x)

        top = tap(y0, x0) * (1 - wx) + tap(y0, x0 + 1) * wx
        bottom = tap(y0 + 1, x0) * (1 - wx) + tap(y0 + 1, x0 + 1) * wx
        return top * (1 - wy) + bottom * wy


class TensorflowAugmentBench(AugmentBench):
    fw: TensorflowFramework  # the adapter this implementation runs under, typed
    model_cls = TensorflowAugment

    def setup(self) -> None:
        with self.fw.tf.device(self.fw.tf_device):
            super().setup()

    def step(self) -> None:
        with self.fw.tf.device(self.fw.tf_device):
            super().step()
