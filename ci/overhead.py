#!/usr/bin/env python3
"""The harness's own overhead: a step timed by dbnbench's protocol vs a bare loop of it.

Usage: python ci/overhead.py [framework] [precision] [hidden] [batch]
Runs both, interleaved, in one process on the same Impl, and prints the medians."""

from __future__ import annotations

import statistics
import sys
import time
from types import SimpleNamespace

from dbnbench.harness.frameworks import FRAMEWORKS
from dbnbench.harness.measure.timing import measure
from dbnbench.suites.builtin import impl_class
from dbnbench.suites.rbm.spec import RBMSpec


def main() -> None:
    framework, precision = (sys.argv[1:3] + ["numpy", "fp32"][len(sys.argv[1:3]):])[:2]
    hidden = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    fw = FRAMEWORKS[framework]("cpu", precision, 2, 0)
    fw.activate()
    params = {**RBMSpec().defaults(), "hidden": hidden, "batch": batch}
    impl = impl_class("rbm-cdk", framework)(SimpleNamespace(params=params), fw)
    impl.setup()
    harness, bare = [], []
    for _ in range(5):
        t = measure(impl.step, fw.sync, warmup_s=0.2, min_time_s=0.2, repetitions=5)
        harness.append(statistics.median(t.repetitions_s) / t.steps_per_repetition)
        loops = t.steps_per_repetition
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(loops):
                impl.step()
            fw.sync()
            bare.append((time.perf_counter() - t0) / loops)
    h, b = statistics.median(harness), statistics.median(bare)
    print(f"{framework} {precision} v784-h{hidden}-b{batch}: harness-timed step {h * 1e3:.3f} ms, "
          f"bare loop {b * 1e3:.3f} ms, overhead {h / b - 1:+.2%}")


if __name__ == "__main__":
    main()
