"""A case's process group in TensorFlow: MultiWorkerMirroredStrategy, one worker per rank,
its collectives (ring all-reduce) over gRPC. dbnbench writes every rank's TF_CONFIG: each
rank posts the address its gRPC server will listen on in the case's store (the same store
torch's ranks meet in), and every rank reads the whole list back in rank order. TensorFlow
configures collectives only before its runtime starts, so a rank must join before its first
op (the pool gives rank 0 a fresh worker for such a case and retires it after). Rank 0
steers the other ranks through the store: one key per command, read in order."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from .base import probe_median

CONFIG_ENV = "TF_CONFIG"


def own_address(store_host: str) -> str:
    """This host's address as the store's host reaches it: the interface a datagram socket
    would leave from (no packet is sent). On loopback, 127.0.0.1."""
    family = socket.AF_INET6 if ":" in store_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((store_host, 9))
        return str(s.getsockname()[0])


def free_port(host: str) -> int:
    """A port free on `host` now, for this rank's gRPC server to take a moment later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def cluster_config(workers: list[str], rank: int) -> dict[str, Any]:
    """The TF_CONFIG of rank `rank` in a cluster of these workers (host:port, rank order)."""
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank}}


class TensorflowGroup:
    """What a workload sees as `fw.group`: rank, world, the all-reduce it needs, and the rows
    of a global batch that are this rank's."""

    backend = "grpc ring (MultiWorkerMirroredStrategy)"

    def __init__(self, tf: Any, store: Any, store_host: str, rank: int, world: int,
                 device: str, dtype: Any, timeout_s: float) -> None:
        self.tf, self.store, self.rank, self.world = tf, store, rank, world
        self.device, self.dtype = device, dtype
        host = own_address(store_host)
        port = free_port(host)
        store.set(f"tf/worker/{rank}", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        keys = [f"tf/worker/{r}" for r in range(world)]
        store.wait(keys)  # every rank's address, within the store's timeout (the case's)
        self.workers = [bytes(store.get(k)).decode() for k in keys]
        os.environ[CONFIG_ENV] = json.dumps(cluster_config(self.workers, rank))
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING,
            timeout_seconds=timeout_s)
        self.strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        if self.strategy.num_replicas_in_sync != world:
            raise RuntimeError(f"MultiWorkerMirroredStrategy formed {self.strategy.num_replicas_in_sync} "
                               f"replicas, not {world} (one per rank)")
        self.sent = 0  # commands sent (rank 0) or read (the others)
        self.probes = 0

    # ---- rank 0 steers, the others follow ----
    def command(self, value: int) -> None:
        if self.tf.inside_function():
            # A step being traced (the product probe) runs nothing: announcing it would send
            # the other ranks into a step rank 0 never takes.
            return
        self.store.set(f"cmd/{self.sent}", str(value))
        self.sent += 1

    def next_command(self) -> int:
        value = int(bytes(self.store.get(f"cmd/{self.sent}")))
        self.sent += 1
        return value

    # ---- for the workloads ----
    def rows(self, batch: int) -> slice:
        """This rank's share of a global batch (the batch is checked to divide evenly)."""
        share = batch // self.world
        return slice(self.rank * share, (self.rank + 1) * share)

    def all_reduce_sum(self, tensors: list[Any]) -> list[Any]:
        """The element-wise sum of every rank's `tensors`, on every rank: called inside a
        traced step, each rank with tensors of the same shapes and dtypes."""
        tf = self.tf

        def replica(*values: Any) -> Any:
            # Identities give each value the replica's device: a tensor without one cannot be
            # a collective's destination.
            ctx = tf.distribute.get_replica_context()
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, [tf.identity(v) for v in values])

        return list(self.strategy.run(replica, args=tuple(tensors)))

    def itemsize(self, dtype: Any) -> int:
        return int(dtype.size)

    # ---- the communication probe (every rank runs it on PROBE) ----
    def allreduce_seconds(self, elements: int, dtype: Any) -> float:
        """Median seconds of one all-reduce of `elements` values, what one step of the
        workload sends, timed alone (after a warm-up call) on every rank together."""
        tf = self.tf
        with tf.device(self.device):
            buf = tf.ones((max(elements, 1),), dtype=dtype)
        reduce = tf.function(lambda x: self.all_reduce_sum([x])[0])
        # .numpy() waits for the value, wherever it was computed.
        return probe_median(lambda: reduce(buf).numpy(), self.sync)

    def control_seconds(self) -> float:
        """Median seconds of one command through the store: a set on rank 0 (what each step
        costs it), the blocking read on the others."""
        return probe_median(self.probe_command)

    def probe_command(self) -> None:
        key = f"probe/{self.probes}"
        self.probes += 1
        if self.rank == 0:
            self.store.set(key, "1")
        else:
            self.store.get(key)

    def abort(self, why: str) -> None:
        """Fail every collective in flight and after (called from rank 0's watcher thread
        when a follower has died); the process is retired with its case."""
        from tensorflow.python.eager import context

        context.context().abort_collective_ops(self.tf.errors.UNAVAILABLE, why)

    def sync(self) -> None:
        if self.device != "/CPU:0":
            self.tf.test.experimental.sync_devices()

    def close(self) -> None:
        """Nothing to take down: TensorFlow cannot stop a gRPC server, so a group's processes
        end with the case (followers exit, rank 0's worker is retired)."""
