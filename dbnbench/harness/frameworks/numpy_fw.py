"""NumPy on the CPU; BLAS threads pinned with threadpoolctl."""

from __future__ import annotations

import time
from typing import Any

from .base import GPU_ONLY, Framework

NO_MIXED = "NumPy has no bfloat16 type and no mixed-precision matrix product"
NO_FP16 = "NumPy's float16 matrix product is not BLAS-accelerated (software loop)"


class NumpyFramework(Framework):
    name = "numpy"
    module = "numpy"
    distributions = ("numpy",)
    install_hint = "pip install numpy"
    precisions = {"fp64": None, "fp32": None, "tf32": GPU_ONLY, "bf16-mixed": NO_MIXED,
                  "fp16-mixed": NO_FP16, "bf16": NO_MIXED}

    def activate(self) -> None:
        super().activate()
        import numpy as np
        from threadpoolctl import threadpool_limits

        self.np = np
        self._limits = threadpool_limits(limits=self.threads)
        self.dtype = np.float64 if self.precision == "fp64" else np.float32
        self.rng = np.random.default_rng(self.seed)

    def seed_all(self, seed: int) -> None:
        self.rng = self.np.random.default_rng(seed)

    def math_flags(self) -> dict[str, Any]:
        from threadpoolctl import threadpool_info

        blas = [f"{i.get('internal_api')}:{i.get('num_threads')}" for i in threadpool_info()
                if i.get("user_api") == "blas"]
        return {"threads": self.threads, "dtype": self.np.dtype(self.dtype).name,
                "blas": ",".join(blas)}

    def gemm_seconds(self, n: int, repeats: int) -> float:
        a = self.rng.random((n, n), dtype=self.dtype)
        b = self.rng.random((n, n), dtype=self.dtype)
        out = self.np.empty((n, n), dtype=self.dtype)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            self.np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - t0)
        return best
