"""harness-selftest: a tiny NumPy step whose `mode` makes it misbehave on purpose, so the
harness's containment (crash, hang, exception, out-of-memory) can be checked on any machine."""

from __future__ import annotations

from typing import Any

from ...harness.workload import Param, Spec

MODES = ("ok", "crash", "hang", "raise", "oom", "leak")


class SelftestSpec(Spec):
    name = "harness-selftest"
    description = "harness check: a small matrix product that can crash, hang, raise or run out of memory"
    params = {
        "size": Param(int, 64, "matrix side", minimum=1, maximum=4096),
        "mode": Param(str, "ok", "ok | crash | hang | raise | oom | leak", choices=MODES),
        "where": Param(str, "step", "when to misbehave: setup | step | quality",
                       choices=("setup", "step", "quality")),
    }

    def tag(self, params: dict[str, Any]) -> str:
        return f"n{params['size']}-{params['mode']}-{params['where']}"

    def items_per_step(self, params: dict[str, Any]) -> int:
        return 1

    def gemm_shapes(self, params: dict[str, Any]) -> list[tuple[int, int, int, int]]:
        n = params["size"]
        return [(1, n, n, n)]
