"""dbn-inference in PyTorch: the fine-tuning nn.Sequential under inference_mode and the
case's autocast; mode `compiled` wraps the forward in torch.compile (inductor)."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np

from ...harness.errors import Skip
from ...harness.frameworks.torch_fw import TorchFramework
from ...harness.plan.workload import Params
from ..pipeline import PipelineForward, build_mlp
from .bench import InferenceBench

COMPILERS = ("c++", "g++", "clang++")


class TorchForward:
    def __init__(self, fw: TorchFramework, init: list[tuple[np.ndarray, np.ndarray]], mode: str) -> None:
        t = self.t = fw.torch
        self.fw = fw
        model = build_mlp(fw, init).eval().requires_grad_(False)
        kind, cast = fw.dev.type, fw.autocast_dtype

        def forward(x: Any) -> Any:
            # torch.autocast itself rather than the adapter's context manager, so that
            # torch.compile traces it; softmax runs in float32 under autocast.
            with t.autocast(kind, dtype=cast, enabled=cast is not None):
                return t.softmax(model(x), dim=-1)

        if mode == "compiled":
            # Inductor's CPU backend writes and builds C++; without a compiler it fails at
            # the first call, deep inside the worker.
            if kind == "cpu" and not any(shutil.which(c) for c in COMPILERS):
                raise Skip("torch.compile on the CPU needs a C++ compiler (c++, g++ or "
                           "clang++); none is on PATH")
            forward = t.compile(forward, dynamic=False)
        self.forward = forward

    def to_device(self, x: np.ndarray) -> Any:
        return self.t.as_tensor(np.ascontiguousarray(x), device=self.fw.dev, dtype=self.fw.dtype)

    def __call__(self, x: Any) -> Any:
        with self.t.inference_mode():
            return self.forward(x)

    def host(self, y: Any) -> np.ndarray:
        return y.to("cpu", self.t.float64).numpy()


class TorchInferenceBench(InferenceBench):
    fw: TorchFramework  # the adapter this implementation runs under, typed
    @classmethod
    def supports(cls, device: str, precision: str, params: Params) -> str | None:
        if params.text("mode") == "graph":
            return ("graph mode is tf.function without XLA; torch's graph compiler is "
                    "mode 'compiled' (torch.compile)")
        return None

    forward_cls = TorchForward
    pipeline_cls = PipelineForward
