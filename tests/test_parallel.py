"""Data parallelism: the same update from W replicas on batch / W rows each as from one
process on the whole batch (torch.distributed over gloo, real processes), and the process
group through the harness."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from tests.conftest import require_framework

from . import parallel_ranks

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replicated(body: str, world: int, tmp_path) -> list[np.ndarray]:
    import torch.multiprocessing as mp

    out = tmp_path / "rank0.npz"
    mp.spawn(parallel_ranks.rank, args=(world, free_port(), body, str(out)), nprocs=world,
             join=True)
    saved = np.load(out)
    return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.parametrize("body", ["finetune", "rbm"])
def test_two_replicas_on_half_batches_make_the_whole_batch_update(body, tmp_path):
    require_framework("torch")
    together = replicated(body, 2, tmp_path)
    alone = parallel_ranks.alone(body)
    assert len(together) == len(alone)
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = parallel_ranks.alone(body)  # and the updates did move the weights
    assert any(not np.allclose(a, 0) for a in moved)
