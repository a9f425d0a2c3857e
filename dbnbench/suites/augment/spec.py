"""augment: the framework-neutral part. Parameters, the transform's definition, the quality bar.

The transform, identical in every framework: for output pixel p = (x, y) of a side×side
image with centre c = (side − 1)/2, the source point is

    src(p) = c + R(θ)·(p − c)/s + t + α·(G_σ ∗ U)(p)

with rotation θ, zoom s, shift t (pixels), and U a per-image field of uniform(−1, 1)
displacements smoothed by a normalised Gaussian of width σ with zero padding (Simard, Steinkraus
& Platt 2003; α = 34, σ = 4 is their MNIST setting). The image is sampled there bilinearly
once (points outside read as 0, so an edge half a pixel out reads half its value), Gaussian
noise of standard deviation `noise` is added and the result clipped to [0, 1]."""

from __future__ import annotations

from typing import Any, ClassVar

from ...harness.plan.workload import Param, Params, Spec

# Agreement with the independent float64 reference (reference.py) on the same draws: the
# largest absolute pixel difference (pixels lie in [0, 1]) over the quality batch. Bilinear
# interpolation is continuous in the source point, so the difference is the rounding of
# coordinates and pixels in the working precision times the image's gradient. Measured on this
# CPU (64 digits, default parameters, seeds 0-4): NumPy/SciPy fp64 7e-15 (the two float64
# formulations agree to rounding), fp32 3.0-3.5e-6 in every framework; fp16-mixed 1.7-2.6e-3
# in torch, 4.4-7.3e-3 in TensorFlow (its fp16 depthwise convolution on this CPU rounds more);
# bf16-mixed 1.1-1.7e-2 in both (the smoothed field rounded to 11 or 8 mantissa bits moves the
# sample point by up to 0.003 or 0.03 px). The bars leave about 3× headroom or more; tf32 (a
# 10-bit mantissa in the convolution, like fp16) gets fp16's bar. A wrong transform fails them
# by far: a flipped rotation, a half-pixel offset or a missing field differs by 0.5-0.98
# (tests check, NumPy included).
TOLERANCE = {"fp64": 1e-9, "fp32": 1e-4, "tf32": 2e-2, "fp16-mixed": 2e-2, "bf16-mixed": 5e-2}
# The identity transform (no shift, rotation, zoom, field or noise) must return the input:
# exactly in NumPy, and up to the round trip through normalised coordinates in torch (6e-7).
IDENTITY_TOLERANCE = {"fp64": 1e-9, "fp32": 1e-5, "tf32": 1e-5, "fp16-mixed": 1e-5,
                      "bf16-mixed": 1e-5}
QUALITY_IMAGES = 64  # the 8×8 digits, held-out split, upsampled to side×side


PURE_BF16 = ("pure bf16 makes no sense for augmentation: sampling coordinates in bfloat16 "
             "resolve 1/256 of the image width, so even the identity transform moves pixels; "
             "bf16-mixed keeps coordinates in float32")


class AugmentSpec(Spec):
    name = "augment"
    description = "random affine + elastic distortion + noise on a batch of images"
    item = "images"
    params: ClassVar[dict[str, Param]] = {
        "batch": Param(int, 256, "images per step", minimum=1),
        "side": Param(int, 28, "image side in pixels", minimum=4, maximum=1024),
        "shift": Param(float, 2.0, "largest shift in pixels (each axis, uniform)", minimum=0.0),
        "rotate": Param(float, 15.0, "largest rotation in degrees (uniform ±)", minimum=0.0,
                        maximum=180.0),
        "scale_min": Param(float, 0.9, "smallest zoom factor", minimum=0.01),
        "scale_max": Param(float, 1.1, "largest zoom factor", minimum=0.01),
        "alpha": Param(float, 34.0, "elastic displacement scale α in pixels", minimum=0.0),
        "sigma": Param(float, 4.0, "elastic smoothing σ in pixels", minimum=0.25, maximum=64.0),
        "noise": Param(float, 0.05, "Gaussian noise standard deviation", minimum=0.0,
                       maximum=1.0),
    }

    def check(self, params: Params) -> str | None:
        why = super().check(params)
        if why:
            return why
        if params.number("scale_min") > params.number("scale_max"):
            return (f"field 'scale_min': must be <= scale_max ({params.number('scale_max'):g}), "
                    f"got {params.number('scale_min'):g}")
        if params.number("shift") >= params.integer("side") / 2:
            return (f"field 'shift': must be under half the image side ({params.integer('side') / 2:g}),"
                    f" got {params.number('shift'):g}")
        return None

    def tag(self, params: Params) -> str:
        # Size and batch always; the transform's ranges only where they leave the defaults,
        # so ids stay short and two different cases never share one.
        extra = "".join(f"-{key}{params.number(key):g}" for key in
                        ("shift", "rotate", "scale_min", "scale_max", "alpha", "sigma", "noise")
                        if params[key] != self.params[key].default)
        return f"{params.integer('side')}px-b{params.integer('batch')}{extra}"

    def items_per_step(self, params: Params) -> int:
        return params.integer("batch")

    def bytes_per_step(self, params: Params, itemsize: int) -> float:
        """Per image and pixel: the input read; the draws (two field channels and the noise)
        written and read; the two source coordinates written and read; the output written.
        Augmentation has no FLOP count that means much: it is placed against the bandwidth
        roof alone."""
        pixels = params.integer("batch") * params.integer("side") ** 2
        return float(itemsize * pixels * (1 + 2 * 3 + 2 * 2 + 1))

    def memory_bytes(self, params: Params, itemsize: int) -> int:
        """The input batch and its augmented copy, at the least."""
        return 2 * itemsize * params.integer("batch") * params.integer("side") ** 2

    def supports(self, framework: str, device: str, precision: str,
                 params: Params) -> str | None:
        if precision == "bf16":
            return PURE_BF16
        return None


def quality_report(max_diff: float, mean_diff: float, identity_diff: float, precision: str,
                   note: str | None = None) -> dict[str, Any]:
    """The quality answer: agreement with the reference and the identity check, with the bars."""
    bar, ident_bar = TOLERANCE[precision], IDENTITY_TOLERANCE[precision]
    report: dict[str, Any] = {
        "metric": "max_abs_diff",
        "max_abs_diff": max_diff,
        "mean_abs_diff": mean_diff,
        "bar": bar,
        "lower_is_better": True,
        "identity_max_abs_diff": identity_diff,
        "identity_bar": ident_bar,
        "passed": bool(max_diff <= bar and identity_diff <= ident_bar),
        "reference": ("independent float64 formulation (augment/reference.py: direct Gaussian "
                      "sums, explicit bilinear) on the same transform parameters"),
        "data": f"sklearn digits 8x8 upsampled, {QUALITY_IMAGES} held-out images",
    }
    if note:
        report["note"] = note
    return report
