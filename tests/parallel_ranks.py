"""Rank bodies for the data-parallel tests, importable by the processes torch spawns (and by
tests/tf_parallel_ranks.py's, for TensorFlow: the data-parallel bodies take either). Each
rank joins a group through a TCPStore on 127.0.0.1, runs the same updates on its share of
the batch, and rank 0 saves the weights; `alone` runs them in one process on the whole batch
for comparison."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 8
STEPS = 2


def framework(precision: str = "fp32", name: str = "torch") -> Any:
    from dbnbench.harness.frameworks import FRAMEWORKS

    fw = FRAMEWORKS[name]("cpu", precision, 1, 0)
    fw.activate()
    return fw


def models(fw: Any) -> tuple[type, type]:
    """The framework's fine-tuning network and RBM classes (imported in its own process)."""
    if fw.name == "tensorflow":
        from dbnbench.suites.finetune.tf_impl import KerasNet
        from dbnbench.suites.rbm.tf_impl import TensorflowRBM

        return KerasNet, TensorflowRBM
    from dbnbench.suites.finetune.torch_impl import TorchNet
    from dbnbench.suites.rbm.torch_impl import TorchRBM

    return TorchNet, TorchRBM


def tensor(fw: Any, a: np.ndarray) -> Any:
    """Draws on the framework's side, in the case's dtype."""
    if fw.name == "tensorflow":
        return fw.tf.constant(a, dtype=fw.dtype)
    return fw.torch.as_tensor(a, dtype=fw.dtype)


def hidden(fw: Any, x: Any, model: Any) -> Any:
    """p(h|x) of one layer of the stack, as pretraining feeds the next layer."""
    if fw.name == "tensorflow":
        return fw.tf.sigmoid(fw.tf.matmul(x, model.w) + model.c)
    return fw.torch.sigmoid(x @ model.w + model.c)


def rows_of(fw: Any) -> slice:
    """This replica's rows of the batch, or all of them in one process."""
    return fw.group.rows(BATCH) if fw.group is not None else slice(None)


def finetune(fw: Any) -> list[np.ndarray]:
    """Two SGD + momentum updates of a small MLP (DDP or all-reduced gradients when
    grouped)."""
    from dbnbench.suites.finetune.spec import glorot_init

    init = glorot_init([20, 16, 12, 4], seed=3)
    rng = np.random.default_rng(5)
    x, y = rng.random((STEPS, BATCH, 20)), rng.integers(0, 4, (STEPS, BATCH))
    net = models(fw)[0](fw, init, lr=0.5, momentum=0.9)
    rows = rows_of(fw)
    for s in range(STEPS):
        net.train_step(*net.to_device(x[s][rows], y[s][rows]))
    return [a for pair in net.weights() for a in pair]


def rbm(fw: Any) -> list[np.ndarray]:
    """Two CD-1 updates on given uniform draws (each replica takes its rows' draws)."""
    from dbnbench.suites.rbm.spec import init_weights

    v, h = 12, 9
    rng = np.random.default_rng(7)
    x = (rng.random((STEPS, BATCH, v)) < 0.4).astype(float)
    uh, uv = rng.random((STEPS, 1, BATCH, h)), rng.random((STEPS, 1, BATCH, v))
    rows = rows_of(fw)
    n = len(range(BATCH)[rows])
    model = models(fw)[1](fw, v, h, n, k=1, persistent=False, lr=0.1, momentum=0.5,
                          weight_decay=1e-3, init=init_weights(v, h, 0))
    for s in range(STEPS):
        model.update(model.to_device(x[s][rows]), tensor(fw, uh[s][:, rows]),
                     tensor(fw, uv[s][:, rows]))
    return list(model.weights())


def pretrain(fw: Any) -> list[np.ndarray]:
    """Two steps of a 3-layer stack as dbn-pretrain takes them (each layer updated on the
    hidden probabilities of the layer below), on given draws."""
    from dbnbench.suites.dbn.stack import build_stack

    sizes = [12, 9, 7, 5]
    rng = np.random.default_rng(11)
    x = (rng.random((STEPS, BATCH, sizes[0])) < 0.4).astype(float)
    rows = rows_of(fw)
    n = len(range(BATCH)[rows])
    hyper = {"k": 1, "lr": 0.1, "momentum": 0.5, "weight_decay": 1e-3}
    stack = build_stack(models(fw)[1], fw, sizes, n, hyper)
    for s in range(STEPS):
        inputs = [stack[0].to_device(x[s][rows])]
        for model in stack[:-1]:
            inputs.append(hidden(fw, inputs[-1], model))
        for model, xs, (v, h) in zip(stack, inputs, pairwise(sizes), strict=True):
            uh, uv = rng.random((1, BATCH, h)), rng.random((1, BATCH, v))
            model.update(xs, tensor(fw, uh[:, rows]), tensor(fw, uv[:, rows]))
    return [a for model in stack for a in model.weights()]


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
