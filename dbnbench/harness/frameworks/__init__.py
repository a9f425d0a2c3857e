"""The framework adapters, registered by name. Importing this imports no ML framework."""

from __future__ import annotations

from .base import Framework
from .numpy_fw import NumpyFramework
from .sklearn_fw import SklearnFramework
from .tf_fw import TensorflowFramework
from .torch_fw import TorchFramework

FRAMEWORKS: dict[str, type[Framework]] = {
    f.name: f for f in (NumpyFramework, TorchFramework, TensorflowFramework, SklearnFramework)
}

__all__ = ["FRAMEWORKS", "Framework"]
