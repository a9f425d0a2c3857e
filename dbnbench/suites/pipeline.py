"""Model parallelism for the layer stack (dbn-finetune, dbn-inference) in torch: the layers
split over the ranks of the case's process group as pipeline stages, micro-batches flowing
through them with plain blocking send/recv (GPipe's schedule: every micro-batch forward,
then every micro-batch backward in reverse, then one optimizer step per stage). On the CPU
the stages are processes with their own cores; on CUDA, one GPU each."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..harness.frameworks.torch_fw import TorchFramework

Init = list[tuple[np.ndarray, np.ndarray]]


def build_mlp(fw: TorchFramework, init: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """Sigmoid hidden layers and a linear output (softmax lives in the loss), weights from
    float64 (W, b) pairs with W stored in × out (nn.Linear keeps out × in): one stage's
    layers, or the whole net (dbn-finetune's and dbn-inference's torch network)."""
    t = fw.torch
    mods: list[Any] = []
    for i, (w, b) in enumerate(init):
        linear = t.nn.Linear(*w.shape, device=fw.dev, dtype=fw.dtype)
        with t.no_grad():
            linear.weight.copy_(t.as_tensor(w.T))
            linear.bias.copy_(t.as_tensor(b))
        mods.append(linear)
        if i + 1 < len(init):
            mods.append(t.nn.Sigmoid())
    return t.nn.Sequential(*mods)


def split_layers(weights: list[int], stages: int) -> list[range]:
    """Contiguous runs of layers, one per stage, that make the heaviest stage (by weight
    count, which sets its FLOPs) as light as possible."""
    n = len(weights)
    if not 1 <= stages <= n:
        raise ValueError(f"{stages} stages for {n} layers")
    best: tuple[int, list[range]] | None = None
    for cuts in itertools.combinations(range(1, n), stages - 1):
        bounds = [0, *cuts, n]
        runs = [range(a, b) for a, b in itertools.pairwise(bounds)]
        heaviest = max(sum(weights[i] for i in run) for run in runs)
        if best is None or heaviest < best[0]:
            best = (heaviest, runs)
    assert best is not None
    return best[1]


class Stage:
    """This rank's layers of the network and its place in the pipeline."""

    def __init__(self, fw: Any, init: Init, micro: int) -> None:

        t, group = fw.torch, fw.group
        self.t, self.fw, self.group, self.micro = t, fw, group, micro
        runs = split_layers([w.size for w, _ in init], group.world)
        self.layers = runs[group.rank]
        self.first, self.last = group.rank == 0, group.rank == group.world - 1
        self.module = build_mlp(fw, [init[i] for i in self.layers])
        if not self.last:  # build_mlp leaves the last layer linear; inside the net, sigmoid
            self.module.append(t.nn.Sigmoid())
        self.width_in = init[self.layers[0]][0].shape[0]
        self.width_out = init[self.layers[-1]][0].shape[1]

    def buffer(self, width: int, rows: int) -> Any:
        return self.t.empty((rows, width), device=self.fw.dev, dtype=self.fw.dtype)

    def receive_input(self, rows: int) -> Any:
        x = self.buffer(self.width_in, rows)
        self.group.recv(x, self.group.rank - 1)
        return x

    def weights(self) -> Init:
        linears = [m for m in self.module if isinstance(m, self.t.nn.Linear)]
        return [(m.weight.detach().to("cpu", self.t.float64).numpy().T,
                 m.bias.detach().to("cpu", self.t.float64).numpy()) for m in linears]


class PipelineNet(Stage):
    """dbn-finetune's network as a pipeline: the same interface as TorchNet. Every rank
    holds the whole batch's inputs and labels (the same seeded pool); the first stage reads
    the inputs, the last the labels."""

    def __init__(self, fw: Any, init: Init, *, lr: float, momentum: float,
                 accumulate: int = 1) -> None:
        super().__init__(fw, init, accumulate)
        t = self.t
        self.opt = t.optim.SGD(self.module.parameters(), lr=lr, momentum=momentum)
        self.scaler = t.amp.GradScaler(fw.dev.type, enabled=fw.precision == "fp16-mixed")

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        t = self.t
        return (t.as_tensor(np.ascontiguousarray(x), device=self.fw.dev, dtype=self.fw.dtype),
                t.as_tensor(y, device=self.fw.dev, dtype=t.int64))

    def train_step(self, x: Any, y: Any) -> None:
        t, group, rank = self.t, self.group, self.group.rank
        self.opt.zero_grad(set_to_none=True)
        kept: list[tuple[Any, Any]] = []
        for xs, ys in zip(x.chunk(self.micro), y.chunk(self.micro), strict=True):
            inp = xs if self.first else self.receive_input(len(xs)).requires_grad_()
            with self.fw.autocast():
                out = self.module(inp)
            if self.last:
                out = t.nn.functional.cross_entropy(out.float(), ys) / self.micro
            else:
                group.send(out.detach().to(self.fw.dtype).contiguous(), rank + 1)
            kept.append((inp, out))
        for inp, out in reversed(kept):
            if self.last:
                self.scaler.scale(out).backward()
            else:
                grad = self.buffer(self.width_out, len(inp))
                group.recv(grad, rank + 1)
                out.backward(grad.to(out.dtype))
            if not self.first:
                group.send(inp.grad.contiguous(), rank - 1)
        self.scaler.step(self.opt)
        self.scaler.update()


class PipelineForward(Stage):
    """dbn-inference's forward pass as a pipeline; the last stage holds the probabilities."""

    def __init__(self, fw: Any, init: Init, micro: int) -> None:
        super().__init__(fw, init, micro)
        self.module.eval().requires_grad_(False)

    def to_device(self, x: np.ndarray) -> Any:
        return self.t.as_tensor(np.ascontiguousarray(x), device=self.fw.dev, dtype=self.fw.dtype)

    def __call__(self, x: Any) -> Any:
        t, group, rank = self.t, self.group, self.group.rank
        outs = []
        with t.inference_mode():
            for xs in x.chunk(self.micro):
                inp = xs if self.first else self.receive_input(len(xs))
                with self.fw.autocast():
                    out = self.module(inp)
                if self.last:
                    outs.append(t.softmax(out.float(), dim=-1))
                else:
                    group.send(out.to(self.fw.dtype).contiguous(), rank + 1)
        return t.cat(outs) if outs else None

    def host(self, y: Any) -> np.ndarray:
        return y.to("cpu", self.t.float64).numpy()
