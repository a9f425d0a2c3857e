"""A case's process group in torch.distributed: gloo on the CPU, NCCL on CUDA (one process
per GPU), rendezvous through a TCPStore as torchrun's static rendezvous does. Rank 0 is the
worker that times the case; it steers the other ranks with a one-integer broadcast before
every step (on a gloo group of its own, so NCCL's data path carries only the workload)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .base import probe_median


class TorchGroup:
    """What a workload sees as `fw.group`: rank, world, the collectives it needs, and the
    rows of a global batch that are this rank's."""

    def __init__(self, torch: Any, store: Any, rank: int, world: int, device: Any, dtype: Any,
                 timeout_s: float) -> None:
        dist = self.dist = torch.distributed
        self.torch, self.rank, self.world, self.device = torch, rank, world, device
        self.dtype = dtype  # what the workload communicates in: its parameters' dtype
        self.backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(self.backend, store=dist.PrefixStore("pg", store), rank=rank,
                                world_size=world, timeout=timedelta(seconds=timeout_s))
        self.control = dist.new_group(backend="gloo") if self.backend != "gloo" else None
        self.flag = torch.zeros(1, dtype=torch.int64)

    # ---- rank 0 steers, the others follow ----
    def command(self, value: int) -> None:
        self.flag.fill_(value)
        self.dist.broadcast(self.flag, 0, group=self.control)

    def next_command(self) -> int:
        self.dist.broadcast(self.flag, 0, group=self.control)
        return int(self.flag.item())

    # ---- for the workloads ----
    def rows(self, batch: int) -> slice:
        """This rank's share of a global batch (the batch is checked to divide evenly)."""
        share = batch // self.world
        return slice(self.rank * share, (self.rank + 1) * share)

    def all_reduce_sum(self, tensor: Any) -> None:
        self.dist.all_reduce(tensor)

    def ddp(self, module: Any) -> Any:
        parallel = self.torch.nn.parallel.DistributedDataParallel
        ids = [self.device.index] if self.device.type == "cuda" else None
        return parallel(module, device_ids=ids)

    def itemsize(self, dtype: Any) -> int:
        return int(self.torch.tensor([], dtype=dtype).element_size())

    def send(self, tensor: Any, dst: int) -> None:
        self.dist.send(tensor, dst)

    def recv(self, tensor: Any, src: int) -> None:
        self.dist.recv(tensor, src)

    # ---- the communication probe (every rank runs it on PROBE) ----
    def allreduce_seconds(self, elements: int, dtype: Any) -> float:
        """Median seconds of one all-reduce of `elements` values, what one step of the
        workload sends, timed alone (after a warm-up call) on every rank together."""
        buf = self.torch.ones(max(elements, 1), dtype=dtype, device=self.device)
        return probe_median(lambda: self.dist.all_reduce(buf), self.sync)

    def control_seconds(self) -> float:
        """Median seconds of the one-integer command broadcast (rank 0's clock matters)."""
        return probe_median(lambda: self.dist.broadcast(self.flag, 0, group=self.control))

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def close(self) -> None:
        if self.dist.is_initialized():
            self.dist.destroy_process_group()
