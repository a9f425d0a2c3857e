"""NumPy on the CPU; BLAS threads pinned with threadpoolctl."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .base import GPU_ONLY, Framework, Operands, timed_repeats
from .products import Observation

NO_MIXED = "NumPy has no bfloat16 type and no mixed-precision matrix product"
NO_FP16 = "NumPy's float16 matrix product is not BLAS-accelerated (software loop)"


class NumpyFramework(Framework):
    groups = ("NumPy has no collective communication: data parallelism runs in torch and "
              "TensorFlow, pipeline stages in torch")
    name = "numpy"
    label = "np"
    rank = 0
    impl_module = "numpy_impl"
    module = "numpy"
    distributions = ("numpy",)
    install_hint = "pip install numpy"
    # Set by activate(): the module, this mode's dtype, the case's generator.
    np: Any
    dtype: Any
    rng: Any
    precisions = {"fp64": None, "fp32": None, "tf32": GPU_ONLY, "bf16-mixed": NO_MIXED,
                  "fp16-mixed": NO_FP16, "bf16": NO_MIXED}

    @classmethod
    def runtime_facts(cls, reasons: dict[str, str]) -> dict[str, Any] | None:
        from .numpy_facts import numpy_facts

        return numpy_facts(reasons)

    @classmethod
    def kernel_findings(cls, cpu_level: str, info: dict[str, Any], env: Mapping[str, str]
                        ) -> Iterator[dict[str, Any]]:
        from .numpy_facts import simd_findings

        return simd_findings(info, env)

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

        # Read back from the loaded libraries: which BLAS, its kernel and its thread count.
        blas = [f"{i.get('internal_api')} {i.get('architecture') or ''}:{i.get('num_threads')}"
                .replace(" :", ":") for i in threadpool_info() if i.get("user_api") == "blas"]
        return {"threads": self.threads, "dtype": self.np.dtype(self.dtype).name,
                "blas": ",".join(blas)}

    def observe_products(self, impl: Any) -> Observation:
        from .numpy_probe import observe

        return observe(impl)

    def gemm_times(self, m: int, n: int, k: int, repeats: int, loops: int,
                   operands: Operands = "uniform") -> list[float]:
        a, b = (self.operand(shape, operands) for shape in ((m, k), (k, n)))
        out = self.np.empty((m, n), dtype=self.dtype)
        return timed_repeats(lambda: self.np.matmul(a, b, out=out), lambda: None, repeats, loops)

    def operand(self, shape: tuple[int, int], operands: Operands) -> Any:
        drawn = self.rng.random(shape, dtype=self.dtype)
        return (drawn < 0.5).astype(self.dtype) if operands == "binary" else drawn

    def triad_times(self, n: int, repeats: int) -> tuple[list[float], int] | None:
        np = self.np
        a, b, c = (np.full(n, v, dtype=np.float32) for v in (0.0, 1.0, 2.0))

        def triad() -> None:
            # NumPy has no fused triad: two passes, moving 5 arrays' worth of bytes (read c,
            # write a; read a and b, write a), which is what is counted.
            np.multiply(c, 3.0, out=a)
            np.add(a, b, out=a)

        return timed_repeats(triad, lambda: None, repeats, 1), 5 * 4 * n
