"""PyTorch on the CPU and CUDA GPUs; precision through dtypes, TF32 flags and autocast."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from ...format.precisions import NAMES
from ..errors import Skip
from ..install import pip_extra
from .base import Framework, Operands, timed_repeats
from .products import Observation

AUTOCAST = {"bf16-mixed": "bfloat16", "fp16-mixed": "float16"}


class TorchFramework(Framework):
    groups = None
    name = "torch"
    rank = 10
    impl_module = "torch_impl"
    module = "torch"
    distributions = ("torch",)
    install_hint = pip_extra("torch")
    precisions = dict.fromkeys(NAMES)
    gpu = True
    # Set by activate(): the module, the case's device, its dtype (of stored values) and
    # autocast dtype (mixed modes, else None), and its generator.
    torch: Any
    dev: Any
    dtype: Any
    autocast_dtype: Any
    generator: Any

    @classmethod
    def runtime_facts(cls, reasons: dict[str, str]) -> dict[str, Any] | None:
        from .torch_facts import torch_facts

        return torch_facts(reasons)

    @classmethod
    def kernel_findings(cls, cpu_level: str, info: dict[str, Any], env: Mapping[str, str]
                        ) -> Iterator[dict[str, Any]]:
        from .torch_facts import aten_findings

        return aten_findings(cpu_level, info, env)

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

    @classmethod
    def group_store(cls, host: str, port: int, master: bool, timeout_s: float,
                    prefix: str = "") -> Any:
        from datetime import timedelta

        import torch.distributed as dist

        store = dist.TCPStore(host, port, is_master=master, wait_for_workers=False,
                              timeout=timedelta(seconds=timeout_s))
        # A case's keys in a run's store (several nodes): one port for the whole run.
        return dist.PrefixStore(prefix, store) if prefix else store

    def open_group(self, store: Any, rank: int, world: int, timeout_s: float) -> Any:
        from .torch_dist import TorchGroup

        if not self.torch.distributed.is_available():
            raise Skip(f"torch {self.torch.__version__} was built without torch.distributed")
        self.group = TorchGroup(self.torch, store, rank, world, self.dev, self.dtype, timeout_s)
        return self.group

    def seed_all(self, seed: int) -> None:
        self.torch.manual_seed(seed)
        self.generator = self.torch.Generator(device=self.dev).manual_seed(seed)

    def sync(self) -> None:
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize(self.dev)

    def device_free_bytes(self) -> int | None:
        """Free memory on the case's GPU (None on the CPU: host memory is psutil's)."""
        if self.dev.type == "cuda":
            return int(self.torch.cuda.mem_get_info(self.dev)[0])
        return None

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
        """Read back from torch, not echoed from what activate() asked for: the autocast
        state as seen inside the step's context, the matmul precision switches, the CPU
        kernel level and oneDNN."""
        t, kind = self.torch, self.dev.type
        with self.autocast():
            autocast_on = t.is_autocast_enabled(kind)
            autocast_dtype = str(t.get_autocast_dtype(kind)).removeprefix("torch.") \
                if autocast_on else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flags: dict[str, Any] = {
                "threads": t.get_num_threads(),
                "dtype": str(self.dtype).removeprefix("torch."),
                "autocast_dtype": autocast_dtype,
                "float32_matmul_precision": t.get_float32_matmul_precision(),
                "tf32_matmul": bool(t.backends.cuda.matmul.allow_tf32),
                "tf32_cudnn": bool(t.backends.cudnn.allow_tf32),
                "cpu_capability": t.backends.cpu.get_cpu_capability(),
                "mkldnn": bool(t.backends.mkldnn.is_available() and t.backends.mkldnn.enabled),
            }
            for name, obj in (("fp32_precision_cuda_matmul", t.backends.cuda.matmul),
                              ("fp32_precision_mkldnn_matmul", getattr(t.backends.mkldnn,
                                                                       "matmul", None))):
                value = getattr(obj, "fp32_precision", None)
                if value is not None:
                    flags[name] = str(value)
        if kind == "cuda":
            flags["gpu"] = t.cuda.get_device_name(self.dev)
            flags["bf16_reduced_precision_reduction"] = bool(
                t.backends.cuda.matmul.allow_bf16_reduced_precision_reduction)
            flags["fp16_reduced_precision_reduction"] = bool(
                t.backends.cuda.matmul.allow_fp16_reduced_precision_reduction)
        return flags

    def observe_products(self, impl: Any) -> Observation:
        from .torch_probe import observe

        def step() -> None:
            impl.step()
            self.sync()

        return observe(self.torch, step, getattr(impl, "wide_products", {}))

    def gemm_times(self, m: int, n: int, k: int, repeats: int, loops: int,
                   operands: Operands = "uniform") -> list[float]:
        t = self.torch
        a, b = (t.rand(shape, generator=self.generator, device=self.dev, dtype=self.dtype)
                for shape in ((m, k), (k, n)))
        if operands == "binary":
            a, b = (x.lt(0.5).to(self.dtype) for x in (a, b))
        with t.inference_mode(), self.autocast():
            return timed_repeats(lambda: t.mm(a, b), self.sync, repeats, loops)

    def triad_times(self, n: int, repeats: int) -> tuple[list[float], int] | None:
        t = self.torch
        a, b, c = (t.full((n,), v, device=self.dev, dtype=t.float32) for v in (0.0, 1.0, 2.0))
        # One fused pass (a ← b + 3·c): STREAM's count, 2 reads and 1 write per element.
        return timed_repeats(lambda: t.add(b, c, alpha=3.0, out=a), self.sync, repeats, 1), 12 * n
