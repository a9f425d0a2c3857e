"""What every workload's harness-facing class shares: the case, its framework adapter, and a
small pool of distinct input batches cycled through, so a timed step never reuses a hot cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..harness.frameworks.base import Framework
from ..harness.plan.workload import Params
from ..harness.records import CaseSpec

POOL_BATCHES = 4


def split(pool: np.ndarray, to_device: Callable[[np.ndarray], Any]) -> list[Any]:
    """POOL_BATCHES interleaved slices of `pool`, each moved to the device."""
    return [to_device(pool[i::POOL_BATCHES]) for i in range(POOL_BATCHES)]


class PooledBench:
    """Base of the Impl classes whose step consumes one batch of `batch` items."""

    def __init__(self, case: CaseSpec, fw: Framework) -> None:
        # Read by name with the type the spec declared: a wrong read is a bug, raised at once.
        self.case, self.fw, self.p = case, fw, Params(case.params)  # type: ignore[arg-type]
        self.items_per_step = self.p.integer("batch")
        self.i = 0

    def rows(self) -> int:
        """The rows of the batch this process steps on: all of them, or its data-parallel
        replica's share (the spec checked that the workers divide the batch)."""
        workers = self.p.integer("workers") if "workers" in self.p else 1
        return self.p.integer("batch") // workers

    def next_index(self) -> int:
        """The pool slot the next step uses."""
        j = self.i % POOL_BATCHES
        self.i += 1
        return j


def no_stages(pipeline_cls: type | None, params: Params) -> str | None:
    """Why a case of pipeline stages cannot run in an implementation without a pipeline
    class (decided when the suite is planned, before any process group forms)."""
    if pipeline_cls is None and "stages" in params and params.integer("stages") > 1:
        return ("this implementation has no pipeline stages (they pass activations point "
                "to point between processes: torch.distributed's send/recv)")
    return None
