"""Rank bodies for TensorFlow's data-parallel tests: each rank is a fresh process (TensorFlow
configures its collectives only before its runtime starts) that joins a
MultiWorkerMirroredStrategy group through a TCPStore on 127.0.0.1, runs tests/parallel_ranks.py's
bodies on its share of the batch, and saves its weights; `alone` runs them in one process on
the whole batch. Each runs in a process of its own: a test process may have started
TensorFlow with other settings already.

    python -m tests.tf_parallel_ranks RANK WORLD PORT BODY[,BODY...] OUT
    python -m tests.tf_parallel_ranks alone BODY[,BODY...] OUT"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from tests import parallel_ranks


def framework() -> Any:
    return parallel_ranks.framework(name="tensorflow")


BODIES = {name: parallel_ranks.BODIES[name] for name in ("finetune", "rbm", "pretrain")}


def rank(rank_: int, world: int, port: int, bodies: str, out: str) -> None:
    """One rank running each of the comma-separated bodies in turn, in one group (a group
    costs a process and TensorFlow's import); saves what each returned to OUT.BODY.RANK.npz.
    Rank 0 hosts the store and leaves last, once every other rank has saved."""
    fw = framework()
    store = fw.group_store("127.0.0.1", port, rank_ == 0, 120)
    fw.open_group(store, rank_, world, 120)
    for body in bodies.split(","):
        np.savez(Path(f"{out}.{body}.{rank_}.npz"), *BODIES[body](fw))
    store.set(f"closed/{rank_}", "1")
    if rank_ == 0:
        store.wait([f"closed/{r}" for r in range(1, world)])


def alone(body: str) -> list[np.ndarray]:
    return BODIES[body](framework())


if __name__ == "__main__":
    if sys.argv[1] == "alone":  # python -m tests.tf_parallel_ranks alone BODIES OUT
        for name in sys.argv[2].split(","):
            np.savez(Path(f"{sys.argv[3]}.{name}.alone.npz"), *alone(name))
    else:
        rank(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
