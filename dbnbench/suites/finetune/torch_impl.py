"""dbn-finetune in PyTorch: nn.Sequential, autograd, SGD with momentum. Mixed modes:
autocast for the forward pass, fp32 master weights, and GradScaler loss scaling for fp16."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from ...harness.frameworks.torch_fw import TorchFramework
from ..pipeline import PipelineNet, build_mlp
from .bench import FinetuneBench


class TorchNet:
    def __init__(self, fw: TorchFramework, init: list[tuple[np.ndarray, np.ndarray]], *, lr: float,
                 momentum: float, accumulate: int = 1) -> None:
        t = self.t = fw.torch
        self.fw, self.accumulate = fw, accumulate
        self.core = build_mlp(fw, init)
        # Data parallel: DistributedDataParallel all-reduces (averages) the gradients in
        # buckets as the backward pass produces them, overlapping the two.
        self.model = fw.group.ddp(self.core) if fw.group is not None else self.core
        # torch's default implementation: foreach (multi-tensor) on CUDA, a plain loop on the
        # CPU. fused=True measured 17.6 ms a step on the CPU here against 0.35 ms for the loop.
        self.opt = t.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum)
        # Loss scaling only where fp16 gradients can underflow; bf16 has fp32's range.
        self.scaler = t.amp.GradScaler(fw.dev.type, enabled=fw.precision == "fp16-mixed")

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        t = self.t
        return (t.as_tensor(np.ascontiguousarray(x), device=self.fw.dev, dtype=self.fw.dtype),
                t.as_tensor(y, device=self.fw.dev, dtype=t.int64))

    def train_step(self, x: Any, y: Any) -> None:
        self.opt.zero_grad(set_to_none=True)
        # Equal micro-batches: the batch's mean loss is the mean of theirs, so each
        # micro-batch's gradient is added in at 1/accumulate and the update is the batch's.
        # With DDP, only the last micro-batch's backward all-reduces; the others accumulate
        # locally (no_sync), as DDP's documentation prescribes for accumulation.
        last = self.accumulate - 1
        for i, (xs, ys) in enumerate(zip(x.chunk(self.accumulate), y.chunk(self.accumulate),
                                         strict=True)):
            local = self.model.no_sync() if i < last and self.model is not self.core \
                else contextlib.nullcontext()
            with local:
                with self.fw.autocast():
                    loss = self.t.nn.functional.cross_entropy(self.model(xs), ys)
                self.scaler.scale(loss / self.accumulate).backward()
        self.scaler.step(self.opt)
        self.scaler.update()

    def logits(self, x: Any) -> np.ndarray:
        with self.t.inference_mode(), self.fw.autocast():
            return self.core(x).to("cpu", self.t.float64).numpy()

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        linears = [m for m in self.core if isinstance(m, self.t.nn.Linear)]
        return [(m.weight.detach().to("cpu", self.t.float64).numpy().T,
                 m.bias.detach().to("cpu", self.t.float64).numpy()) for m in linears]


class TorchFinetuneBench(FinetuneBench):
    fw: TorchFramework  # the adapter this implementation runs under, typed
    net_cls = TorchNet
    pipeline_cls = PipelineNet
