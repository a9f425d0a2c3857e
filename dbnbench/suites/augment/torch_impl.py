"""augment in PyTorch: the displacement fields smoothed by two depthwise conv2d passes (the
separable Gaussian), the affine part from affine_grid, one grid_sample for the whole batch.
No torchvision, no autograd (inference_mode).

Mixed modes run the smoothing convolutions (the products) under autocast, in bf16/fp16;
coordinates, grid and pixels stay float32, as master weights do in training."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.frameworks.torch_fw import TorchFramework
from ...harness.plan.workload import Params
from .bench import AugmentBench
from .draws import Draws, gaussian_kernel, gaussian_radius


class TorchAugment:
    def __init__(self, fw: TorchFramework, p: Params) -> None:
        t = self.t = fw.torch
        self.fw, self.p = fw, p
        self.opts = {"device": fw.dev, "dtype": fw.dtype}
        k = t.as_tensor(gaussian_kernel(p.number("sigma")), **self.opts)
        # One filter per displacement channel (x, y): groups=2 makes the conv depthwise.
        self.ky = k.view(1, 1, -1, 1).expand(2, 1, -1, 1).contiguous()
        self.kx = k.view(1, 1, 1, -1).expand(2, 1, 1, -1).contiguous()
        self.r = gaussian_radius(p.number("sigma"))
        # With align_corners=True, normalised = (pixel − c)/c for c = (side − 1)/2.
        self.c = (p.integer("side") - 1) / 2

    def to_device(self, images: np.ndarray) -> Any:
        return self.t.as_tensor(np.ascontiguousarray(images), **self.opts)

    def to_numpy(self, images: Any) -> np.ndarray:
        return images.detach().to("cpu", self.t.float64).numpy()

    def draws(self, n: int) -> Draws:
        t, g, p, side = self.t, self.fw.generator, self.p, self.p.integer("side")

        def uniform(lo: float, hi: float, *shape: int) -> Any:
            return t.rand(shape, generator=g, **self.opts).mul_(hi - lo).add_(lo)

        rot = np.radians(p.number("rotate"))
        return Draws(angle=uniform(-rot, rot, n),
                     scale=uniform(p.number("scale_min"), p.number("scale_max"), n),
                     shift=uniform(-p.number("shift"), p.number("shift"), n, 2),
                     field=uniform(-1.0, 1.0, n, 2, side, side),
                     noise=t.randn((n, side, side), generator=g, **self.opts))

    def from_numpy(self, d: Draws) -> Draws:
        return Draws(*(self.to_device(a) for a in d))

    def apply(self, images: Any, d: Draws) -> Any:
        """Warp, add noise and clip a batch (n, side, side) with the given draws."""
        t, F, p = self.t, self.t.nn.functional, self.p
        n, side = len(images), p.integer("side")
        with t.inference_mode():
            with self.fw.autocast():  # the one product: low precision in the mixed modes
                field = F.conv2d(d.field, self.ky, padding=(self.r, 0), groups=2)
                field = F.conv2d(field, self.kx, padding=(0, self.r), groups=2)
            # Coordinates stay in the storage dtype: autocast would run affine_grid in
            # bf16, whose 8 bits resolve only 1/256 of the image width (0.05 px at 28 px).
            field = field.to(images.dtype)
            cos, sin = t.cos(d.angle) / d.scale, t.sin(d.angle) / d.scale
            theta = t.stack([t.stack([cos, -sin, d.shift[:, 0] / self.c], 1),
                             t.stack([sin, cos, d.shift[:, 1] / self.c], 1)], 1)
            grid = F.affine_grid(theta, [n, 1, side, side], align_corners=True)
            # grid[..., 0] is x and grid[..., 1] is y, as the field's channels are.
            grid = grid.add_(field.permute(0, 2, 3, 1), alpha=p.number("alpha") / self.c)
            out = F.grid_sample(images[:, None], grid, mode="bilinear", padding_mode="zeros",
                                align_corners=True)[:, 0]
            out = out.add_(d.noise, alpha=p.number("noise")).clamp_(0.0, 1.0)
        return out


class TorchAugmentBench(AugmentBench):
    fw: TorchFramework  # the adapter this implementation runs under, typed
    model_cls = TorchAugment
    # affine_grid's one small product (the base grid times each image's 2×3 matrix) makes
    # the sampling coordinates; it stays in float32 in every mixed mode, on purpose (README,
    # "Precision modes").
    wide_products = {"aten::affine_grid_generator": (
        "sampling coordinates stay float32: in bf16 they resolve 1/256 of the image, and "
        "even the identity transform would move pixels")}
