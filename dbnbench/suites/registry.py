"""The one explicit registry: workload name -> spec, (workload, framework) -> implementation.

Specs import only NumPy; implementations are named as "module:Class" strings and imported
inside the worker, so listing cases never imports an ML framework."""

from __future__ import annotations

import hashlib
import importlib
from functools import cache
from pathlib import Path

from ..harness.workload import Spec
from .augment.spec import AugmentSpec
from .dbn.spec import DBNPretrainSpec
from .finetune.spec import FinetuneSpec
from .inference.spec import InferenceSpec
from .rbm.spec import RBMSpec
from .selftest.spec import SelftestSpec

SPECS: dict[str, Spec] = {s.name: s for s in (RBMSpec(), DBNPretrainSpec(), FinetuneSpec(),
                                                InferenceSpec(), AugmentSpec(), SelftestSpec())}

IMPLS: dict[tuple[str, str], str] = {
    ("rbm-cdk", "numpy"): "dbnbench.suites.rbm.numpy_impl:Impl",
    ("rbm-cdk", "torch"): "dbnbench.suites.rbm.torch_impl:Impl",
    ("rbm-cdk", "tensorflow"): "dbnbench.suites.rbm.tf_impl:Impl",
    ("rbm-cdk", "sklearn"): "dbnbench.suites.rbm.sklearn_impl:Impl",
    ("dbn-pretrain", "numpy"): "dbnbench.suites.dbn.numpy_impl:Impl",
    ("dbn-pretrain", "torch"): "dbnbench.suites.dbn.torch_impl:Impl",
    ("dbn-pretrain", "tensorflow"): "dbnbench.suites.dbn.tf_impl:Impl",
    ("dbn-finetune", "numpy"): "dbnbench.suites.finetune.numpy_impl:Impl",
    ("dbn-finetune", "torch"): "dbnbench.suites.finetune.torch_impl:Impl",
    ("dbn-finetune", "tensorflow"): "dbnbench.suites.finetune.tf_impl:Impl",
    ("dbn-inference", "numpy"): "dbnbench.suites.inference.numpy_impl:Impl",
    ("dbn-inference", "torch"): "dbnbench.suites.inference.torch_impl:Impl",
    ("dbn-inference", "tensorflow"): "dbnbench.suites.inference.tf_impl:Impl",
    ("augment", "numpy"): "dbnbench.suites.augment.numpy_impl:Impl",
    ("augment", "torch"): "dbnbench.suites.augment.torch_impl:Impl",
    ("augment", "tensorflow"): "dbnbench.suites.augment.tf_impl:Impl",
    ("harness-selftest", "numpy"): "dbnbench.suites.selftest.impl:Impl",
}


def impl_class(workload: str, framework: str) -> type:
    module, _, name = IMPLS[(workload, framework)].partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def source_hash(workload: str) -> str:
    """Hash of the workload's folder, so a changed workload is never silently compared."""
    module = type(SPECS[workload]).__module__
    folder = Path(importlib.import_module(module).__file__).parent
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
