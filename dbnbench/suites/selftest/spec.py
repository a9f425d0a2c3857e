"""harness-selftest: a tiny NumPy step whose `mode` makes it misbehave on purpose, so the
harness's containment (crash, hang, exception, out-of-memory) can be checked on any machine."""

from __future__ import annotations

from ...harness.plan.workload import Param, Params, Spec

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

    def tag(self, params: Params) -> str:
        return f"n{params.integer('size')}-{params.text('mode')}-{params.text('where')}"

    def items_per_step(self, params: Params) -> int:
        return 1

    def gemm_shapes(self, params: Params) -> list[tuple[int, int, int, int]]:
        n = params.integer("size")
        return [(1, n, n, n)]
