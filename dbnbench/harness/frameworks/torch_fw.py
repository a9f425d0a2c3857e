"""PyTorch on the CPU and CUDA GPUs; precision through dtypes, TF32 flags and autocast."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from typing import Any

from ..errors import Skip
from .base import Framework

AUTOCAST = {"bf16-mixed": "bfloat16", "fp16-mixed": "float16"}


class TorchFramework(Framework):
    name = "torch"
    module = "torch"
    distributions = ("torch",)
    install_hint = "pip install 'dbnbench[torch]'"
    precisions = {p: None for p in ("fp64", "fp32", "tf32", "bf16-mixed", "fp16-mixed", "bf16")}
    gpu = True

    def activate(self) -> None:
        super().activate()
        import torch

        self.torch = torch
        torch.set_num_threads(self.threads)
        if self.device.startswith("cuda"):
            if not torch.cuda.is_available():
                build = "without CUDA" if torch.version.cuda is None else "with CUDA, no GPU visible"
                raise Skip(f"torch {torch.__version__} sees no CUDA device ({build})")
            index = int(self.device.partition(":")[2] or 0)
            if index >= torch.cuda.device_count():
                raise Skip(f"no CUDA device {index} (torch sees {torch.cuda.device_count()})")
            torch.cuda.set_device(index)
        self.dev = torch.device(self.device)
        tf32 = self.precision == "tf32"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy TF32 switches warn in newer releases
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            torch.set_float32_matmul_precision("high" if tf32 else "highest")
        self.dtype = {"fp64": torch.float64, "bf16": torch.bfloat16}.get(
            self.precision, torch.float32)
        self.autocast_dtype = getattr(torch, AUTOCAST[self.precision]) \
            if self.precision in AUTOCAST else None
        if self.autocast_dtype is not None:
            kind = self.dev.type
            if not torch.amp.autocast_mode.is_autocast_available(kind):
                raise Skip(f"torch {torch.__version__} has no autocast for {kind}")
        self.generator = torch.Generator(device=self.dev).manual_seed(self.seed)

    def seed_all(self, seed: int) -> None:
        self.torch.manual_seed(seed)
        self.generator = self.torch.Generator(device=self.dev).manual_seed(seed)

    def sync(self) -> None:
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize(self.dev)

    def reset_peak_memory(self) -> None:
        if self.dev.type == "cuda":
            self.torch.cuda.reset_peak_memory_stats(self.dev)

    def peak_device_memory(self) -> tuple[int | None, str | None]:
        if self.dev.type == "cuda":
            return int(self.torch.cuda.max_memory_allocated(self.dev)), None
        return super().peak_device_memory()

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.autocast_dtype is None:
            yield
            return
        with self.torch.autocast(self.dev.type, dtype=self.autocast_dtype):
            yield

    def math_flags(self) -> dict[str, Any]:
        t = self.torch
        flags: dict[str, Any] = {
            "threads": t.get_num_threads(),
            "dtype": str(self.dtype).removeprefix("torch."),
            "autocast_dtype": str(self.autocast_dtype).removeprefix("torch.")
            if self.autocast_dtype else None,
            "float32_matmul_precision": t.get_float32_matmul_precision(),
            "tf32_matmul": bool(t.backends.cuda.matmul.allow_tf32),
            "tf32_cudnn": bool(t.backends.cudnn.allow_tf32),
        }
        if self.dev.type == "cuda":
            flags["gpu"] = t.cuda.get_device_name(self.dev)
        return flags

    def gemm_seconds(self, n: int, repeats: int) -> float:
        t = self.torch
        a = t.rand((n, n), generator=self.generator, device=self.dev, dtype=self.dtype)
        b = t.rand((n, n), generator=self.generator, device=self.dev, dtype=self.dtype)
        best = float("inf")
        with t.inference_mode(), self.autocast():
            for _ in range(repeats):
                self.sync()
                t0 = time.perf_counter()
                t.mm(a, b)
                self.sync()
                best = min(best, time.perf_counter() - t0)
        return best
