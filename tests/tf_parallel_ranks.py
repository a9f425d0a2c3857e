"""Rank bodies for TensorFlow's data-parallel tests: each rank is a fresh process (TensorFlow
configures its collectives only before its runtime starts) that joins a
MultiWorkerMirroredStrategy group through a TCPStore on 127.0.0.1, runs the same updates as
tests/parallel_ranks.py on its share of the batch, and saves its weights; `alone` runs them
in one process on the whole batch. Each runs in a process of its own: a test process may have
started TensorFlow with other settings already.

    python -m tests.tf_parallel_ranks RANK WORLD PORT BODY[,BODY...] OUT
    python -m tests.tf_parallel_ranks alone BODY[,BODY...] OUT"""

from __future__ import annotations

import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from tests.parallel_ranks import BATCH, STEPS


def framework(precision: str = "fp32") -> Any:
    from dbnbench.harness.frameworks.tf_fw import TensorflowFramework

    fw = TensorflowFramework("cpu", precision, 1, 0)
    fw.activate()
    return fw


def rows_of(fw: Any) -> slice:
    return fw.group.rows(BATCH) if fw.group is not None else slice(None)


def finetune(fw: Any) -> list[np.ndarray]:
    """Two SGD + momentum updates of a small MLP (gradients all-reduced when grouped)."""
    from dbnbench.suites.finetune.spec import glorot_init
    from dbnbench.suites.finetune.tf_impl import KerasNet

    init = glorot_init([20, 16, 12, 4], seed=3)
    rng = np.random.default_rng(5)
    x, y = rng.random((STEPS, BATCH, 20)), rng.integers(0, 4, (STEPS, BATCH))
    net = KerasNet(fw, init, lr=0.5, momentum=0.9)
    rows = rows_of(fw)
    for s in range(STEPS):
        net.train_step(*net.to_device(x[s][rows], y[s][rows]))
    return [a for pair in net.weights() for a in pair]


def rbm(fw: Any) -> list[np.ndarray]:
    """Two CD-1 updates on given uniform draws (each replica takes its rows' draws)."""
    from dbnbench.suites.rbm.spec import init_weights
    from dbnbench.suites.rbm.tf_impl import TensorflowRBM

    v, h, tf = 12, 9, fw.tf
    rng = np.random.default_rng(7)
    x = (rng.random((STEPS, BATCH, v)) < 0.4).astype(float)
    uh, uv = rng.random((STEPS, 1, BATCH, h)), rng.random((STEPS, 1, BATCH, v))
    rows = rows_of(fw)
    n = len(range(BATCH)[rows])
    model = TensorflowRBM(fw, v, h, n, k=1, persistent=False, lr=0.1, momentum=0.5,
                          weight_decay=1e-3, init=init_weights(v, h, 0))
    for s in range(STEPS):
        model.update(model.to_device(x[s][rows]), tf.constant(uh[s][:, rows], dtype=fw.dtype),
                     tf.constant(uv[s][:, rows], dtype=fw.dtype))
    return list(model.weights())


def pretrain(fw: Any) -> list[np.ndarray]:
    """Two steps of a 3-layer stack, each layer updated on the hidden probabilities of the
    layer below, on given draws."""
    from dbnbench.suites.dbn.stack import build_stack
    from dbnbench.suites.rbm.tf_impl import TensorflowRBM

    sizes, tf = [12, 9, 7, 5], fw.tf
    rng = np.random.default_rng(11)
    x = (rng.random((STEPS, BATCH, sizes[0])) < 0.4).astype(float)
    rows = rows_of(fw)
    n = len(range(BATCH)[rows])
    hyper = {"k": 1, "lr": 0.1, "momentum": 0.5, "weight_decay": 1e-3}
    models = build_stack(TensorflowRBM, fw, sizes, n, hyper)
    for s in range(STEPS):
        inputs = [models[0].to_device(x[s][rows])]
        for model in models[:-1]:
            inputs.append(tf.sigmoid(tf.matmul(inputs[-1], model.w) + model.c))
        for model, xs, (v, h) in zip(models, inputs, pairwise(sizes), strict=True):
            uh, uv = rng.random((1, BATCH, h)), rng.random((1, BATCH, v))
            model.update(xs, tf.constant(uh[:, rows], dtype=fw.dtype),
                         tf.constant(uv[:, rows], dtype=fw.dtype))
    return [a for model in models for a in model.weights()]


BODIES = {"finetune": finetune, "rbm": rbm, "pretrain": pretrain}


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
