"""The harness-facing side of dbn-inference, shared by every framework's forward class.

A forward class is built as `forward_cls(fw, init, mode)` from float64 (W, b) pairs, input
first, and offers `to_device(x)`, `__call__(x)` (class probabilities, on the device) and
`host(y)` (float64 NumPy)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from ...harness.errors import Skip
from ...harness.plan.workload import Params
from ..batches import POOL_BATCHES, PooledBench, no_stages, split
from ..data import synthetic_binary
from ..finetune.numpy_impl import NumpyNet
from ..finetune.plan import Init, Plan, quality_plan, train_budget
from ..finetune.spec import glorot_init
from ..quality import labelled
from .loadgen import single_stream
from .serving import run_offline, run_server, run_single_stream
from .spec import quality_report, reference_probs

# Latency at batch 1: single calls, each synced, until both bounds are met (or the cap).
LATENCY: dict[str, float] = {"min_calls": 200, "min_s": 0.5, "max_calls": 5000, "max_s": 5.0}
_FINETUNED: dict[tuple[Any, ...], Init] = {}


def finetuned_float64(plan: Plan, seed: int) -> Init:
    """dbn-finetune's quality network for this plan, fine-tuned in NumPy float64 (once per
    process, plan and seed): the network whose outputs every framework and precision is
    compared on."""
    key = (plan.sizes, plan.data_text, seed)
    if key not in _FINETUNED:
        fw = SimpleNamespace(dtype=np.float64, seed=seed, sync=lambda: None)
        _FINETUNED[key] = train_budget(NumpyNet, fw, plan, plan.init(seed))[1].weights()
    return _FINETUNED[key]


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    """p50/p90/p99 of call times, in milliseconds (the unit reports show latency in)."""
    p50, p90, p99 = np.percentile(samples_s, [50, 90, 99]) * 1e3
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "calls": len(samples_s)}


class InferenceBench(PooledBench):
    forward_cls: ClassVar[type]
    pipeline_cls: ClassVar[type | None] = None  # the forward pass as this rank's stage

    @classmethod
    def supports(cls, device: str, precision: str, params: Params) -> str | None:
        return no_stages(cls.pipeline_cls, params)

    def setup(self) -> None:
        p, seed = self.p, self.fw.seed
        init = glorot_init([*p.integers("layers"), p.integer("classes")], seed)
        micro = p.integer("microbatches", 1)
        pool = synthetic_binary(POOL_BATCHES * p.integer("batch"), p.integers("layers")[0], seed)
        self.parts: list[list[Any]] = []
        if p.integer("stages", 1) > 1:  # this rank's pipeline stage; it cuts the micro-batches
            if self.pipeline_cls is None:
                raise Skip(f"{self.fw.name} has no pipeline stages")
            self.net = self.pipeline_cls(self.fw, init, micro)
        else:
            self.net = self.forward_cls(self.fw, init, p.text("mode"))
            if micro > 1:  # the same micro-batches one after the other: a pipeline's baseline
                self.parts = [[self.net.to_device(part) for part in np.split(b, micro)]
                              for b in (pool[i::POOL_BATCHES] for i in range(POOL_BATCHES))]
        self.batches = split(pool, self.net.to_device)
        self.step()  # tracing and compilation belong to setup, not to the warm-up

    def step(self) -> None:
        i = self.next_index()
        if self.parts:
            self.out = [self.net(part) for part in self.parts[i]]
        else:
            self.out = self.net(self.batches[i])

    def metrics(self) -> dict[str, Any]:
        """A serving scenario's outcome; else latency percentiles of single synced calls, at
        batch 1 only (larger batches are throughput cases; their per-call time is the step
        time already measured)."""
        scenario = self.p.text("scenario")
        if scenario != "batch":
            return {"serving": self.serving(scenario)}
        if self.p.integer("batch") != 1:
            return {}
        sync = self.fw.sync

        def call(_: int) -> None:
            self.step()
            sync()

        sync()  # nothing queued before the first timed call
        served = single_stream(call, int(LATENCY["min_calls"]), LATENCY["min_s"],
                               int(LATENCY["max_calls"]), LATENCY["max_s"])
        return {"latency_ms": percentiles_ms(list(served.latencies_s))}

    def serving(self, scenario: str) -> dict[str, Any]:
        """The scenario on this forward pass: a call on n queries runs the first n rows of a
        staged batch and waits for the result."""
        x, net, sync = self.batches[0], self.net, self.fw.sync

        def serve(n: int) -> None:
            net(x[:n])
            sync()

        p = self.p
        if scenario == "single-stream":
            return run_single_stream(serve)
        if scenario == "offline":
            return run_offline(serve, p.integer("max_batch"))
        return run_server(serve, bound_ms=p.number("latency_bound_ms"),
                          max_batch=p.integer("max_batch"), max_wait_ms=p.number("max_wait_ms"),
                          seed=self.fw.seed)

    def quality(self) -> dict[str, Any]:
        """dbn-finetune's float64 quality network (at the case's shape on MNIST where the data
        allows) run forward here on the test split, against the float64 reference."""
        p, fw = self.p, self.fw
        plan = quality_plan(p.integers("layers"), p.integer("classes"), fw.seed)
        _, _, x_test, y_test = plan.data
        weights = finetuned_float64(plan, fw.seed)
        net = self.forward_cls(fw, weights, p.text("mode"))
        probs = net.host(net(net.to_device(x_test)))
        model = f"{plan.model('NumPy fp64')}; forward in {fw.precision}, {p['mode']}"
        report = quality_report(probs, reference_probs(weights, x_test), y_test, fw.precision)
        return labelled(report, model, f"{plan.data_text}; test split", plan.fallback)
