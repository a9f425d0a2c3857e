"""The machine's own measured peak: square GEMMs per (framework, device, precision).

Sizes grow while the next one fits the time budget, and the best rate wins. Small sizes
under-fill the cores and large ones can fall out of cache, so the peak is the maximum over
sizes, each the best of several products after an untimed first one."""

from __future__ import annotations

import time
from typing import Any

SIZES = (256, 512, 1024, 2048, 4096, 8192, 16384)
REPEATS = 3
BUDGET_S = 2.5


def calibrate(fw: Any, budget_s: float = BUDGET_S) -> dict[str, Any]:
    start = time.perf_counter()
    rates: dict[str, float] = {}
    for n in SIZES:
        seconds = fw.gemm_seconds(n, REPEATS)
        rates[str(n)] = 2.0 * n**3 / seconds
        spent = time.perf_counter() - start
        # The next size costs about 8× per product, (REPEATS + 1) products.
        if spent + 8 * seconds * (REPEATS + 1) > budget_s:
            break
    best = max(rates.values())
    return {"gemm_flops_per_s": best, "by_size": rates}
