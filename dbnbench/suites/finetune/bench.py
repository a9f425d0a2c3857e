"""The harness-facing side of dbn-finetune, shared by every framework's network class.

A network class is built as `net_cls(fw, init)` from float64 (W, b) pairs, input first, and
offers `to_device(x, y)`, `train_step(x, y)` (one SGD + momentum update), `logits(x)` (float64
NumPy) and `weights()`; it takes lr, momentum and accumulate (micro-batches per update) as
keywords."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ...harness.plan.workload import Params
from ..batches import POOL_BATCHES, PooledBench, no_stages
from ..data import synthetic_binary
from ..quality import labelled
from .plan import Plan, quality_plan, train_budget
from .spec import glorot_init, quality_report, time_to_target


class FinetuneBench(PooledBench):
    net_cls: ClassVar[type]
    pipeline_cls: ClassVar[type | None] = None  # the network as this rank's pipeline stage

    @classmethod
    def supports(cls, device: str, precision: str, params: Params) -> str | None:
        return no_stages(cls.pipeline_cls, params)

    def setup(self) -> None:
        p, seed = self.p, self.fw.seed
        init = glorot_init([*p.integers("layers"), p.integer("classes")], seed)
        # Pipeline stages: this rank's layers (the spec allows stages where a group runs).
        cls = self.pipeline_cls if p.integer("stages", 1) > 1 else self.net_cls
        assert cls is not None  # supports() refused stages without a pipeline class
        self.net = cls(self.fw, init, lr=p.number("lr"), momentum=p.number("momentum"),
                       accumulate=p.integer("accumulate"))
        n = POOL_BATCHES * self.rows()
        x = synthetic_binary(n, p.integers("layers")[0], seed)
        y = np.random.default_rng(seed).integers(0, p.integer("classes"), n)
        self.batches = [self.net.to_device(x[i::POOL_BATCHES], y[i::POOL_BATCHES])
                        for i in range(POOL_BATCHES)]
        self.step()  # first call (graph tracing, optimizer slots) out of the warm-up

    def step(self) -> None:
        self.net.train_step(*self.batches[self.next_index()])

    def plan(self) -> Plan:
        return quality_plan(self.p.integers("layers"), self.p.integer("classes"), self.fw.seed)

    def runs(self) -> dict[str, list[tuple[float, float]]]:
        """The quality budget from the pretrained stack and from random weights: accuracy
        and training seconds after every epoch."""
        fw, plan = self.fw, self.plan()
        fw.seed_all(fw.seed)
        return {name: train_budget(self.net_cls, fw, plan, plan.init(fw.seed, pre))[0]
                for name, pre in (("pretrained", True), ("random", False))}

    def quality(self) -> dict[str, Any]:
        """Accuracy after the budget, beside the same budget from random weights, and the
        time to the accuracy bar (training time only, MLPerf style) of both. Quality runs
        once per case (the first round), so these are measured once too."""
        curves, plan = self.runs(), self.plan()
        report = quality_report(curves["pretrained"], curves["random"], plan.bar, plan.budget)
        report["time_to_target"] = {
            "target_accuracy": plan.bar,
            "pretrained": time_to_target(curves["pretrained"], plan.bar),
            "random_init": time_to_target(curves["random"], plan.bar),
            "epoch_s": curves["pretrained"][-1][0] / len(curves["pretrained"]),
            "epoch_samples": len(plan.data[0]),
            "steps_per_epoch_case": math.ceil(self.p.integer("samples") / self.p.integer("batch"))}
        return labelled(report, plan.model(self.fw.precision), plan.data_text, plan.fallback)
