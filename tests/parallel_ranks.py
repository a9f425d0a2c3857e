"""Rank bodies for the data-parallel tests, importable by the processes torch spawns. Each
rank joins a gloo group through a TCPStore on 127.0.0.1, runs the same updates on its share
of the batch, and rank 0 saves the weights; `alone` runs them in one process on the whole
batch for comparison."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 8
STEPS = 2


def framework(precision: str = "fp32") -> Any:
    from dbnbench.harness.frameworks.torch_fw import TorchFramework

    fw = TorchFramework("cpu", precision, 1, 0)
    fw.activate()
    return fw


def finetune(fw: Any) -> list[np.ndarray]:
    """Two DDP (or plain) SGD + momentum updates of a small MLP."""
    from dbnbench.suites.finetune.spec import glorot_init
    from dbnbench.suites.finetune.torch_impl import TorchNet

    init = glorot_init([20, 16, 12, 4], seed=3)
    rng = np.random.default_rng(5)
    x, y = rng.random((STEPS, BATCH, 20)), rng.integers(0, 4, (STEPS, BATCH))
    net = TorchNet(fw, init, lr=0.5, momentum=0.9)
    rows = fw.group.rows(BATCH) if fw.group is not None else slice(None)
    for s in range(STEPS):
        net.train_step(*net.to_device(x[s][rows], y[s][rows]))
    return [a for pair in net.weights() for a in pair]


def rbm(fw: Any) -> list[np.ndarray]:
    """Two CD-1 updates on given uniform draws (each replica takes its rows' draws)."""
    from dbnbench.suites.rbm.spec import init_weights
    from dbnbench.suites.rbm.torch_impl import TorchRBM

    v, h, t = 12, 9, fw.torch
    rng = np.random.default_rng(7)
    x = (rng.random((STEPS, BATCH, v)) < 0.4).astype(float)
    uh, uv = rng.random((STEPS, 1, BATCH, h)), rng.random((STEPS, 1, BATCH, v))
    rows = fw.group.rows(BATCH) if fw.group is not None else slice(None)
    n = len(range(BATCH)[rows])
    model = TorchRBM(fw, v, h, n, k=1, persistent=False, lr=0.1, momentum=0.5,
                     weight_decay=1e-3, init=init_weights(v, h, 0))
    for s in range(STEPS):
        model.update(model.to_device(x[s][rows]), t.as_tensor(uh[s][:, rows], dtype=fw.dtype),
                     t.as_tensor(uv[s][:, rows], dtype=fw.dtype))
    return list(model.weights())


def pretrain(fw: Any) -> list[np.ndarray]:
    """Two steps of a 3-layer stack as dbn-pretrain takes them (each layer updated on the
    hidden probabilities of the layer below), on given draws."""
    from dbnbench.suites.dbn.stack import build_stack
    from dbnbench.suites.rbm.torch_impl import TorchRBM

    sizes, t = [12, 9, 7, 5], fw.torch
    rng = np.random.default_rng(11)
    x = (rng.random((STEPS, BATCH, sizes[0])) < 0.4).astype(float)
    rows = fw.group.rows(BATCH) if fw.group is not None else slice(None)
    n = len(range(BATCH)[rows])
    hyper = {"k": 1, "lr": 0.1, "momentum": 0.5, "weight_decay": 1e-3}
    models = build_stack(TorchRBM, fw, sizes, n, hyper)
    for s in range(STEPS):
        data = models[0].to_device(x[s][rows])
        inputs = [data]
        for model in models[:-1]:
            inputs.append(t.sigmoid(inputs[-1] @ model.w + model.c))
        for model, xs, (v, h) in zip(models, inputs, pairwise(sizes), strict=True):
            uh, uv = rng.random((1, BATCH, h)), rng.random((1, BATCH, v))
            model.update(xs, t.as_tensor(uh[:, rows], dtype=fw.dtype),
                         t.as_tensor(uv[:, rows], dtype=fw.dtype))
    return [a for model in models for a in model.weights()]


SIZES = [20, 16, 12, 8, 4]  # four weight layers: stages split them


def pipeline_finetune(fw: Any) -> list[np.ndarray]:
    """Two updates of the MLP; as a pipeline (4 micro-batches through the stages), each rank
    returns its own layers' weights."""
    from dbnbench.suites.finetune.spec import glorot_init
    from dbnbench.suites.finetune.torch_impl import TorchNet
    from dbnbench.suites.pipeline import PipelineNet

    init = glorot_init(SIZES, seed=3)
    rng = np.random.default_rng(5)
    x, y = rng.random((STEPS, BATCH, SIZES[0])), rng.integers(0, SIZES[-1], (STEPS, BATCH))
    net = (PipelineNet(fw, init, lr=0.5, momentum=0.9, accumulate=4) if fw.group is not None
           else TorchNet(fw, init, lr=0.5, momentum=0.9))
    for s in range(STEPS):
        net.train_step(*net.to_device(x[s], y[s]))
    return [a for pair in net.weights() for a in pair]


def pipeline_forward(fw: Any) -> list[np.ndarray]:
    """Class probabilities of one batch; as a pipeline, on the last stage only."""
    from dbnbench.suites.finetune.spec import glorot_init
    from dbnbench.suites.inference.torch_impl import TorchForward
    from dbnbench.suites.pipeline import PipelineForward

    init = glorot_init(SIZES, seed=3)
    x = np.random.default_rng(5).random((BATCH, SIZES[0]))
    net = PipelineForward(fw, init, 4) if fw.group is not None else TorchForward(fw, init, "eager")
    out = net(net.to_device(x))
    return [] if out is None else [net.host(out)]


BODIES = {"finetune": finetune, "rbm": rbm, "pretrain": pretrain,
          "pipeline_finetune": pipeline_finetune,
          "pipeline_forward": pipeline_forward}


def rank(rank_: int, world: int, port: int, body: str, out: str) -> None:
    """One rank; each saves what it returned to OUT.RANK.npz."""
    fw = framework()
    store = fw.group_store("127.0.0.1", port, rank_ == 0, 60)
    fw.open_group(store, rank_, world, 60)
    arrays = BODIES[body](fw)
    np.savez(Path(f"{out}.{rank_}.npz"), *arrays)
    fw.group.close()
    # Rank 0 hosts the store: it leaves last, once every other rank has closed its group. A
    # host gone while a peer still tore down its connections aborted that peer's process
    # (or its own, "terminate called without an active exception") now and then.
    store.set(f"closed/{rank_}", "1")
    if rank_ == 0:
        store.wait([f"closed/{r}" for r in range(1, world)])


def alone(body: str) -> list[np.ndarray]:
    return BODIES[body](framework())
