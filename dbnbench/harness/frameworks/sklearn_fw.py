"""scikit-learn, the peer a user would pick instead: NumPy underneath, CPU only."""

from __future__ import annotations

from typing import Any

from .numpy_fw import NumpyFramework

NO_LOW = "scikit-learn estimators compute in float64 or float32 only"


class SklearnFramework(NumpyFramework):
    groups = "scikit-learn's BernoulliRBM trains in one process; it has no data or pipeline parallelism"
    name = "sklearn"
    module = "sklearn"
    distributions = ("scikit-learn",)
    install_hint = "pip install scikit-learn"
    calibrate_as = "numpy"  # its products are NumPy's, so NumPy's GEMM peak is its peak
    precisions = {**NumpyFramework.precisions, "bf16-mixed": NO_LOW, "fp16-mixed": NO_LOW,
                  "bf16": NO_LOW}

    def math_flags(self) -> dict[str, Any]:
        import sklearn

        return {**super().math_flags(), "sklearn": sklearn.__version__}
