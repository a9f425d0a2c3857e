"""The one explicit registry: workload name -> spec, (workload, framework) -> implementation.

Specs import only NumPy; implementations are named as "module:Class" strings and imported
inside the worker, so listing cases never imports an ML framework."""

from __future__ import annotations

import hashlib
import importlib
import re
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


SIBLING_IMPORT = re.compile(r"^from \.\.(\w+)", re.MULTILINE)


def source_files(workload: str) -> list[Path]:
    """The workload's folder plus every sibling module it imports (transitively): a change to
    the RBM code changes the hash of the DBN workloads built on it."""
    module = type(SPECS[workload]).__module__
    root = Path(importlib.import_module(module).__file__).parent
    suites, seen, todo = root.parent, {root}, [root]
    files: set[Path] = set()
    while todo:
        folder = todo.pop()
        for path in folder.glob("*.py"):
            files.add(path)
            for name in SIBLING_IMPORT.findall(path.read_text(encoding="utf-8")):
                if (suites / f"{name}.py").is_file():
                    files.add(suites / f"{name}.py")
                elif (suites / name).is_dir() and suites / name not in seen:
                    seen.add(suites / name)
                    todo.append(suites / name)
    return sorted(files)


@cache
def source_hash(workload: str) -> str:
    """Hash of the workload's sources, so a changed workload is never silently compared."""
    suites = Path(__file__).parent
    digest = hashlib.sha256()
    for path in source_files(workload):
        digest.update(str(path.relative_to(suites)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
