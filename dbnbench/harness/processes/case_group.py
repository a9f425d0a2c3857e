"""A case that runs as several processes (data-parallel replicas or pipeline stages).

The worker that was asked for the case is rank 0: it starts the other ranks of this machine
as its own children (so the pool's timeout, memory cap and process-group kill cover them
all), meets them through a TCPStore, and times the case as usual while every rank runs the
same steps: before each step it broadcasts one integer (step, probe, stop). A rank that
dies makes rank 0's next collective fail, and the case fails naming that rank. On several
machines (`dbnbench run --nnodes`), an agent on every other node starts that node's ranks
when rank 0 posts the case in the run's rendezvous store (rendezvous.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ..probes.group_energy import Reading
from ..records import CaseRequest, JSONObject, encode

MEMBER_ENV = "DBNBENCH_GROUP_MEMBER"  # a follower's orders, JSON (Member)
RDZV_ENV = "DBNBENCH_RDZV"  # host:port:nnodes of a multi-node run, in node 0's workers
STOP_WAIT_S = 30.0
STOP, STEP, PROBE, METER_START, METER_STOP = 0, 1, 2, 3, 4  # what rank 0 broadcasts
ENERGY_WAIT_S = 30.0  # for every rank's energy reading after the window
WATCH_S = 0.1  # how often rank 0 looks for a dead follower while its collectives may wait


def probe(group: Any, elements: int, dtype: Any) -> tuple[float | None, float]:
    """Run by every rank on PROBE: the all-reduce (when the case all-reduces anything), then
    the command broadcast's own cost."""
    allreduce_s = group.allreduce_seconds(elements, dtype) if elements else None
    return allreduce_s, group.control_seconds()


@dataclass(frozen=True)
class Member:
    """What a follower rank is told in its environment."""

    store: str  # host:port of the case's TCPStore (rank 0 hosts it)
    rank: int
    world: int
    cores: tuple[int, ...]  # its CPU share; empty: not pinned
    request: str  # the CaseRequest, as rank 0 received it
    local_rank: int  # its place among this node's ranks: its GPU, its cores
    prefix: str = ""  # the case's keys in a run's store (several nodes), else its own store

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, text: str) -> Member:
        data = json.loads(text)
        return cls(data["store"], int(data["rank"]), int(data["world"]),
                   tuple(int(c) for c in data["cores"]), data["request"], int(data["local_rank"]),
                   str(data.get("prefix", "")))


def affinity() -> tuple[int, ...]:
    """The CPUs this process may run on; empty where the OS cannot say (no pinning there)."""
    return tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else ()


def cores_of(usable: tuple[int, ...], local_rank: int, threads: int) -> tuple[int, ...]:
    """A rank's own cores: its `threads` of `usable` (the worker's CPUs before any group
    pinned it), in order. Too few to give every rank its own is an error, not a shared core:
    two ranks on one core would halve both and read as poor scaling."""
    if not usable:
        return ()
    share = usable[local_rank * threads:(local_rank + 1) * threads]
    if len(share) != threads:
        raise GroupError(f"rank {local_rank} needs {threads} core(s) of its own; this "
                         f"process may use {len(usable)} CPU(s) {list(usable)}")
    return share


def pin(cores: tuple[int, ...]) -> None:
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)


def start_rank(member: Member, python: str = sys.executable) -> subprocess.Popen[bytes]:
    """One follower: this interpreter, its orders in the environment, stdout and stderr to
    the worker's log. Same process group as the worker, so a kill of the worker's group
    ends it too."""
    env = {**os.environ, MEMBER_ENV: member.encode()}
    return subprocess.Popen([python, "-m", "dbnbench.harness.processes.rank"], env=env,
                            stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr)


def signal_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


# (rendezvous address, the case's request line, world size) → (the other nodes' handle, this
# node's rank count, the run store's address, the case's prefix in it)
Poster = Callable[[str, str, int], tuple[Any, int, str, str]]


class GroupError(RuntimeError):
    """A case's process group that could not form or broke."""


class CaseGroup:
    """Rank 0's side of a case's process group."""

    def __init__(self, req: CaseRequest, fw: Any, post: Poster | None = None) -> None:
        """`post` announces the case to a run's other nodes (rendezvous.post_case), given
        by the caller: this module sits below the one that spans machines."""
        work, settings = req.work, req.settings
        self.world = work.workers * work.stages
        self.fw = fw
        line = encode(req)
        self.local = self.world
        self.remote: Any = None
        rdzv = os.environ.get(RDZV_ENV)
        if rdzv:
            if post is None:
                raise GroupError(f"{RDZV_ENV} is set, but this group was given no way to "
                                 "reach the other nodes")
            # Over several nodes the case meets in the run's store, under its own prefix:
            # the run's one port is the only one the nodes must reach for a rendezvous.
            self.remote, self.local, address, prefix = post(rdzv, line, self.world)
            host, port = address.rsplit(":", 1)
            self.store = fw.group_store(host, int(port), False, settings.timeout_s, prefix)
        else:
            self.store = fw.group_store("127.0.0.1", 0, True, settings.timeout_s)
            address, prefix = f"127.0.0.1:{self.store.port}", ""
        threads = settings.threads
        self.ended = threading.Event()  # set when the group ends: the watcher stops
        # The worker's CPUs before this group pins it; restored when the group ends, so the
        # next case (a group's or not) starts from the same share.
        self.usable = affinity()
        shares = [cores_of(self.usable, r, threads) for r in range(self.local)]  # before any starts
        self.followers = []
        try:
            self.followers = [start_rank(Member(address, r, self.world, shares[r], line, r,
                                                prefix)) for r in range(1, self.local)]
            pin(shares[0])
            self.wait_ready(settings.timeout_s)
            self.group = fw.open_group(self.store, 0, self.world, settings.timeout_s)
        except BaseException:
            self.end_followers()
            raise
        self.watch()

    def watch(self) -> None:
        """Where a framework's collectives wait on a dead peer (TensorFlow's retry for tens
        of seconds), abort them the moment a follower of this node ends: the case then fails
        at once, naming the rank."""
        abort = getattr(self.group, "abort", None)
        if abort is None:
            return

        def run() -> None:
            while not self.ended.wait(WATCH_S):
                why = self.local_dead()
                if why:
                    abort(why)
                    return

        threading.Thread(target=run, name="group-watch", daemon=True).start()

    def wait_ready(self, timeout_s: float) -> None:
        """Every follower has started and read its orders (rank r sets ready/r), or a
        failure naming the one that died first: the group's own rendezvous would wait for
        a dead rank until the timeout."""
        keys = [f"ready/{r}" for r in range(1, self.world)]
        deadline = time.monotonic() + timeout_s
        while not self.store.check(keys):
            why = self.dead()
            if why:
                raise GroupError(f"{why} before the group formed")
            if time.monotonic() > deadline:
                raise GroupError(f"the group did not form within {timeout_s:g} s")
            time.sleep(0.02)
        # Each rank's CPUs as that rank saw them once pinned: observed, not intended.
        self.cores_by_rank = [list(affinity())] + [
            json.loads(self.store.get(key)) for key in keys]

    def dead(self) -> str | None:
        """Why the group broke, if a follower of this node (or another node) has ended."""
        why = self.local_dead()
        if why is None and self.remote is not None:
            return self.remote.dead()
        return why

    def local_dead(self) -> str | None:
        for rank, proc in enumerate(self.followers, start=1):
            code = proc.poll()
            if code is not None:
                return f"rank {rank} of {self.world} ended ({signal_text(code)})"
        return None

    def stepper(self, step: Callable[[], None]) -> Callable[[], None]:
        group = self.group

        def steered() -> None:
            group.command(STEP)
            step()

        return steered

    def meter_need_s(self) -> float | None:
        """The longest window any rank's energy meter needs (each posts it as it joins)."""
        needs = [json.loads(self.store.get(f"meter/{r}")) for r in range(1, self.world)
                 if self.store.check([f"meter/{r}"])]
        return max((float(n) for n in needs if n is not None), default=None)

    def meter_start(self) -> None:
        self.group.command(METER_START)

    def meter_stop(self) -> list[Reading]:
        """Every other rank's reading of the window just closed."""
        self.group.command(METER_STOP)
        keys = [f"energy/{r}" for r in range(1, self.world)]
        deadline = time.monotonic() + ENERGY_WAIT_S
        while not self.store.check(keys):
            if time.monotonic() > deadline:
                late = [k for k in keys if not self.store.check([k])]
                return [Reading(int(k.split("/")[1]), "?", "unread", None, 0.0, None, None,
                                None, f"no reading within {ENERGY_WAIT_S:g} s") for k in late]
            time.sleep(0.01)
        return [Reading.from_json(json.loads(self.store.get(k))) for k in keys]

    def communication(self, elements: int, dtype: Any, step_s: float) -> JSONObject:
        """All-reduce of one step's communicated values, timed alone on every rank, and the
        one-integer command that precedes every step, against the measured step: how much of
        a step the exchange would take if nothing overlapped it (DDP overlaps it with the
        backward pass, so this is the most it can cost)."""
        group = self.group
        group.command(PROBE)
        allreduce_s, control_s = probe(group, elements, dtype)
        itemsize = group.itemsize(dtype)
        out: JSONObject = {
            "elements_per_step": elements, "bytes_per_step": elements * itemsize,
            "allreduce_s": allreduce_s, "control_s": control_s, "step_s": step_s,
            "share": allreduce_s / step_s if allreduce_s is not None and step_s else None}
        if allreduce_s is None:
            out["reason"] = ("nothing is all-reduced: pipeline stages pass activations and "
                             "their gradients point to point, inside the timed step")
        return out

    def stop(self) -> None:
        """Tell every rank to stop, wait for this node's followers, leave the group."""
        try:
            self.group.command(STOP)
        finally:
            self.close()

    def close(self) -> None:
        self.ended.set()
        deadline = time.monotonic() + STOP_WAIT_S
        for proc in self.followers:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.remote is not None:
            self.remote.finish()
        pin(self.usable)
        self.group.close()
        self.fw.group = None

    def end_followers(self) -> None:
        self.ended.set()
        for proc in self.followers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if self.remote is not None:
            self.remote.finish()
        pin(self.usable)

    def kill(self) -> None:
        self.end_followers()
        try:
            self.group.close()
        except Exception:
            pass  # a broken group may refuse to be taken down cleanly; its processes are gone
        self.fw.group = None

    def describe(self) -> JSONObject:
        group = self.fw.group
        out: JSONObject = {
            "world": self.world, "backend": group.backend, "local_ranks": self.local,
            "nodes": self.remote.nodes if self.remote is not None else 1,
            "threads_per_rank": self.fw.threads, "cores_by_rank": self.cores_by_rank}
        cluster = getattr(group, "workers", None)  # a cluster its framework addresses itself
        if cluster is not None:
            out["cluster"] = list(cluster)
        return out
