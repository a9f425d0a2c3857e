"""The built-in workloads and suite files, and the registry the application hands the engine.

Specs import only NumPy; implementations are named as "module:Class" strings and imported
inside the worker, so listing cases never imports an ML framework. A workload's source hash
covers its folder and every sibling module it imports (transitively): a change to the RBM
code changes the hash of the DBN workloads built on it."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from ..harness.registry import Registry, Workload
from ..harness.workload import Spec
from .augment.spec import AugmentSpec
from .dbn.spec import DBNPretrainSpec
from .finetune.spec import FinetuneSpec
from .inference.spec import InferenceSpec
from .rbm.spec import RBMSpec
from .selftest.spec import SelftestSpec

PACKAGE = "dbnbench.suites"
FRAMEWORK_MODULES = {"numpy": "numpy_impl", "torch": "torch_impl", "tensorflow": "tf_impl",
                     "sklearn": "sklearn_impl"}
# workload -> (folder, {framework: class}); modules follow FRAMEWORK_MODULES.
BUILTIN: dict[str, tuple[Spec, str, dict[str, str]]] = {
    "rbm-cdk": (RBMSpec(), "rbm", {"numpy": "NumpyRBMBench", "torch": "TorchRBMBench",
                                    "tensorflow": "TensorflowRBMBench",
                                    "sklearn": "SklearnRBMBench"}),
    "dbn-pretrain": (DBNPretrainSpec(), "dbn", {"numpy": "NumpyPretrainBench",
                                                "torch": "TorchPretrainBench",
                                                "tensorflow": "TensorflowPretrainBench"}),
    "dbn-finetune": (FinetuneSpec(), "finetune", {"numpy": "NumpyFinetuneBench",
                                                  "torch": "TorchFinetuneBench",
                                                  "tensorflow": "TensorflowFinetuneBench"}),
    "dbn-inference": (InferenceSpec(), "inference", {"numpy": "NumpyInferenceBench",
                                                     "torch": "TorchInferenceBench",
                                                     "tensorflow": "TensorflowInferenceBench"}),
    "augment": (AugmentSpec(), "augment", {"numpy": "NumpyAugmentBench",
                                           "torch": "TorchAugmentBench",
                                           "tensorflow": "TensorflowAugmentBench"}),
}
SIBLING_IMPORT = re.compile(r"^from \.\.(\w+)", re.MULTILINE)


def source_files(folder: str) -> tuple[Path, ...]:
    """A workload folder's files and every sibling module or folder they import."""
    suites = Path(__file__).parent
    seen, todo, files = {suites / folder}, [suites / folder], set()
    while todo:
        current = todo.pop()
        for path in current.glob("*.py"):
            files.add(path)
            for name in SIBLING_IMPORT.findall(path.read_text(encoding="utf-8")):
                if (suites / f"{name}.py").is_file():
                    files.add(suites / f"{name}.py")
                elif (suites / name).is_dir() and suites / name not in seen:
                    seen.add(suites / name)
                    todo.append(suites / name)
    return tuple(sorted(files))


def builtin_workloads() -> list[Workload]:
    out = []
    for spec, folder, classes in BUILTIN.values():
        impls = {fw: f"{PACKAGE}.{folder}.{FRAMEWORK_MODULES[fw]}:{cls}"
                 for fw, cls in classes.items()}
        out.append(Workload(spec, impls, source_files(folder)))
    out.append(Workload(SelftestSpec(), {"numpy": f"{PACKAGE}.selftest.impl:SelftestBench"},
                        source_files("selftest")))
    return out


def builtin_suites() -> dict[str, Path]:
    root = resources.files(PACKAGE)
    return {Path(p.name).stem: Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml")}


@cache
def default_registry() -> Registry:
    """The built-in workloads and suites, and every installed plugin's workloads."""
    registry = Registry(suites=builtin_suites())
    for workload in builtin_workloads():
        registry.add(workload)
    registry.load_plugins()
    return registry


__all__ = ["builtin_workloads", "default_registry", "source_files"]
