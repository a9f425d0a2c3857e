"""scikit-learn, the peer a user would pick instead: NumPy underneath, CPU only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .numpy_fw import NumpyFramework

NO_LOW = "scikit-learn estimators compute in float64 or float32 only"


class SklearnFramework(NumpyFramework):
    groups = "scikit-learn's BernoulliRBM trains in one process; it has no data or pipeline parallelism"
    name = "sklearn"
    label = "skl"
    rank = 90  # the peer a user would pick instead: listed after the frameworks
    impl_module = "sklearn_impl"
    module = "sklearn"
    distributions = ("scikit-learn",)
    install_hint = "pip install scikit-learn"
    calibrate_as = "numpy"  # its products are NumPy's, so NumPy's GEMM peak is its peak
    @classmethod
    def runtime_facts(cls, reasons: dict[str, str]) -> dict[str, Any] | None:
        from .numpy_facts import sklearn_facts

        return sklearn_facts(reasons)

    @classmethod
    def kernel_findings(cls, cpu_level: str, info: dict[str, Any], env: Mapping[str, str]
                        ) -> Iterator[dict[str, Any]]:
        return iter(())  # NumPy's own worker reports NumPy's kernels, once

    precisions = {**NumpyFramework.precisions, "bf16-mixed": NO_LOW, "fp16-mixed": NO_LOW,
                  "bf16": NO_LOW}

    def math_flags(self) -> dict[str, Any]:
        import sklearn

        return {**super().math_flags(), "sklearn": sklearn.__version__}
