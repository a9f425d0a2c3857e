"""One run over several machines, as torchrun's static rendezvous does it: node 0 (the
machine running the suite) hosts a TCPStore at the endpoint every node is given; every
other node runs an agent (`dbnbench run --nnodes N --node-rank R --rdzv-endpoint HOST:PORT`)
that posts its machine's fingerprint there, then starts its share of each multi-rank case's
ranks when node 0's worker posts the case, and reports how they ended. Single-process cases
run on node 0 only. Node 0 writes the result, with every node's fingerprint."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Skip, UserError
from ..probes.contention import NODES_HERE_ENV
from ..records import CaseRequest, decode_request
from .case_group import (
    RDZV_ENV,
    STOP_WAIT_S,
    GroupError,
    Member,
    affinity,
    cores_of,
    signal_text,
    start_rank,
)
from .launchers import checked, detect

POLL_S = 0.05
LEAVE_WAIT_S = 10.0
ENDPOINT_RE = re.compile(r"^(?P<host>[A-Za-z0-9.:\[\]_-]+):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class Nodes:
    """This machine's place in a run over several."""

    host: str
    port: int
    count: int
    rank: int
    timeout_s: float
    launcher: str | None = None  # torchrun, slurm, mpi; None: dbnbench's own options
    hosted: bool = True  # node 0 hosts the store (False: the launcher's agents host it)

    @property
    def env(self) -> str:
        """What node 0's workers are told (RDZV_ENV): where the run's store is, how many
        nodes share each multi-rank case."""
        return f"{self.host}:{self.port}:{self.count}"


def parse_nodes(nnodes: int | None, node_rank: int | None, endpoint: str | None,
                timeout_s: float, env: Mapping[str, str] | None = None) -> Nodes | None:
    """The three options together, checked; without them, what a cluster's launcher told
    this process (launchers.py); None when neither says (one machine)."""
    given = [v is not None for v in (nnodes, node_rank, endpoint)]
    if not any(given):
        found = detect(os.environ if env is None else env)
        if found is None:
            return None
        found = checked(found)
        return Nodes(found.host or "127.0.0.1", found.port, found.nnodes, found.node_rank,
                     timeout_s, found.launcher, hosted=not found.agent_store)
    if not all(given):
        raise UserError("--nnodes, --node-rank and --rdzv-endpoint go together")
    assert nnodes is not None and node_rank is not None and endpoint is not None
    if not 0 <= node_rank < nnodes:
        raise UserError(f"--node-rank: {node_rank} is not in 0..{nnodes - 1}")
    match = ENDPOINT_RE.match(endpoint)
    if not match or not 1 <= int(match["port"]) <= 65535:
        raise UserError(f"--rdzv-endpoint: expected HOST:PORT (port 1-65535), got {endpoint!r}")
    return Nodes(match["host"].strip("[]"), int(match["port"]), nnodes, node_rank, timeout_s)


class Prefixed:
    """The run's keys under one prefix: a launcher's store (torchrun's agents') holds keys of
    its own."""

    def __init__(self, store: Any, prefix: str = "dbnbench/") -> None:
        self.inner, self.prefix = store, prefix

    def set(self, key: str, value: str) -> None:
        self.inner.set(self.prefix + key, value)

    def get(self, key: str) -> bytes:
        return bytes(self.inner.get(self.prefix + key))

    def check(self, keys: list[str]) -> bool:
        return bool(self.inner.check([self.prefix + k for k in keys]))

    def add(self, key: str, amount: int) -> int:
        return int(self.inner.add(self.prefix + key, amount))


def tcp_store(host: str, port: int, master: bool, timeout_s: float) -> Prefixed:
    """The nodes' key-value store, from the first installed framework with process groups
    (its store is the rendezvous)."""
    from ..frameworks import FRAMEWORKS

    grouped = [fw for fw in FRAMEWORKS.values() if fw.groups is None]
    able = [fw for fw in grouped if fw.installed()]
    if not able:
        hints = "; ".join(f"{fw.name}: {fw.install_hint}" for fw in grouped) or "none known"
        raise UserError(f"a run over several nodes needs a framework with process groups "
                        f"(its store is the rendezvous): {hints}")
    try:
        return Prefixed(able[0].group_store(host, port, master, timeout_s))
    except Skip as exc:
        raise UserError(f"a run over several nodes: {exc}") from None
    except (RuntimeError, OSError) as exc:
        what = "host" if master else "reach"
        raise UserError(f"--rdzv-endpoint {host}:{port}: cannot {what} the rendezvous "
                        f"({' '.join(str(exc).split())[:200]})") from None


def shared_cpus(machines: list[dict[str, Any]], cpus: list[list[int]]) -> str | None:
    """Which nodes run on one host with CPUs in common (a launcher tried on one machine, or
    loopback nodes), or None. Their ranks would share cores and read as poor scaling."""
    for a in range(len(machines)):
        for b in range(a + 1, len(machines)):
            same = machines[a].get("hostname") == machines[b].get("hostname")
            common = sorted(set(cpus[a]) & set(cpus[b]))
            if same and common:
                return (f"nodes {a} and {b} are both on {machines[a].get('hostname')} and may "
                        f"both use CPUs {common}")
    return None


def wait_for(store: Any, keys: list[str], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not store.check(keys):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


class Host:
    """Node 0: hosts the run's store, gathers the nodes, tells its workers where they are."""

    def __init__(self, nodes: Nodes) -> None:
        self.nodes = nodes
        self.store = tcp_store(nodes.host, nodes.port, nodes.hosted, nodes.timeout_s)

    def gather(self, fingerprint: dict[str, Any]) -> list[dict[str, Any]]:
        """Every node's machine, node 0's first, once all have joined."""
        n = self.nodes.count
        self.store.set("cpus/0", json.dumps(affinity()))
        self.store.set("node/0", json.dumps(fingerprint))
        keys = [f"node/{r}" for r in range(1, n)]
        if not wait_for(self.store, keys, self.nodes.timeout_s):
            joined = sum(self.store.check([k]) for k in keys) + 1
            raise UserError(f"only {joined} of {n} nodes joined the rendezvous at "
                            f"{self.nodes.host}:{self.nodes.port} within "
                            f"{self.nodes.timeout_s:g} s ({self.missing_hint()})")
        found = [json.loads(self.store.get(f"node/{r}")) for r in range(n)]
        shared = shared_cpus(found, [json.loads(self.store.get(f"cpus/{r}")) if
                                     self.store.check([f"cpus/{r}"]) else [] for r in range(n)])
        if shared:
            self.store.set("end", "1")  # the agents go home
            raise UserError(f"{shared}: each node's ranks would share cores with another's; "
                            "bind each node to its own (srun --cpu-bind=cores, mpirun binds "
                            "by default, taskset -c for torchrun or --nnodes)")
        os.environ[RDZV_ENV] = self.nodes.env  # node 0's workers inherit it
        here = [int(json.loads(self.store.get(f"pid/{r}"))) for r in range(1, n)
                if found[r].get("hostname") == found[0].get("hostname")
                and self.store.check([f"pid/{r}"])]
        if here:  # their ranks are this run's CPU, not a neighbour's
            os.environ[NODES_HERE_ENV] = ",".join(map(str, here))
        return found

    def missing_hint(self) -> str:
        n, launcher = self.nodes.count, self.nodes.launcher
        if launcher:
            return (f"{launcher} started this node; every node's dbnbench must reach "
                    f"{self.nodes.host}:{self.nodes.port}")
        return (f"start `dbnbench run --nnodes {n} --node-rank R --rdzv-endpoint HOST:PORT` "
                "on the others")

    def end(self) -> None:
        """Tell the agents the run is over and give them a moment to say they heard: the
        store lives in this process and goes with it."""
        self.store.set("end", "1")
        os.environ.pop(RDZV_ENV, None)
        os.environ.pop(NODES_HERE_ENV, None)
        wait_for(self.store, [f"left/{r}" for r in range(1, self.nodes.count)], LEAVE_WAIT_S)


class Remote:
    """Node 0's worker's view of the other nodes' ranks of one case."""

    def __init__(self, store: Any, seq: int, nodes: int) -> None:
        self.store, self.seq, self.nodes = store, seq, nodes

    def key(self, node: int) -> str:
        return f"case/{self.seq}/exit/{node}"

    def dead(self) -> str | None:
        for node in range(1, self.nodes):
            if self.store.check([self.key(node)]):
                code = int(self.store.get(self.key(node)))
                if code:
                    return f"node {node}'s ranks ended ({signal_text(code)})"
        return None

    def finish(self) -> None:
        wait_for(self.store, [self.key(n) for n in range(1, self.nodes)], STOP_WAIT_S)


def post_case(rdzv: str, line: str, world: int) -> tuple[Remote, int, str, str]:
    """Announce a case to the other nodes; returns their handle, node 0's rank count, and
    where the case's ranks meet: the run's store, under the case's own prefix."""
    host, port, count = rdzv.rsplit(":", 2)
    nodes = int(count)
    store = tcp_store(host, int(port), False, 60)
    per_node = world // nodes  # the load check refused a world the nodes do not divide
    seq = int(store.add("seq", 1))
    address, prefix = f"{host}:{port}", f"dbnbench/group/{seq}"
    store.set(f"case/{seq}", json.dumps({"request": line, "store": address, "prefix": prefix,
                                         "world": world, "per_node": per_node}))
    return Remote(store, seq, nodes), per_node, address, prefix


def agent(nodes: Nodes, fingerprint: dict[str, Any], say: Any = print) -> int:
    """Node R > 0: join, then start this node's ranks of every case node 0 posts, until the
    run ends. Returns the exit code: 0 when node 0 ended the run, 1 when it vanished."""
    store = tcp_store(nodes.host, nodes.port, False, nodes.timeout_s)
    seq = 1
    try:
        store.set(f"cpus/{nodes.rank}", json.dumps(affinity()))
        store.set(f"pid/{nodes.rank}", json.dumps(os.getpid()))
        store.set(f"node/{nodes.rank}", json.dumps(fingerprint))
        say(f"node {nodes.rank} of {nodes.count} joined {nodes.host}:{nodes.port}")
        while True:
            case_key = f"case/{seq}"
            while not store.check([case_key]):
                if store.check(["end"]):
                    store.set(f"left/{nodes.rank}", "1")
                    say(f"node {nodes.rank}: the run ended after {seq - 1} multi-rank "
                        "case(s)")
                    return 0
                time.sleep(POLL_S)
            posted = json.loads(store.get(case_key))
            code = run_share(posted, nodes.rank, say)
            store.set(f"{case_key}/exit/{nodes.rank}", str(code))
            seq += 1
    except (RuntimeError, OSError) as exc:  # the store (node 0's run) is gone
        say(f"node {nodes.rank}: lost node 0 at {nodes.host}:{nodes.port} after {seq - 1} "
            f"multi-rank case(s): {' '.join(str(exc).split())[:160]}")
        return 1


def run_share(posted: dict[str, Any], node: int, say: Any = print) -> int:
    """This node's ranks of one case, started and waited for: 0, or the first failure's
    code."""
    line, per_node = posted["request"], int(posted["per_node"])
    req = decode_request(line)
    threads = req.settings.threads if isinstance(req, CaseRequest) else 1
    try:  # node 0's load check counted node 0's CPUs only
        shares = [cores_of(affinity(), i, threads) for i in range(per_node)]
    except GroupError as exc:
        say(f"node {node}: {exc}")
        return 2
    procs = [start_rank(Member(posted["store"], node * per_node + i, int(posted["world"]),
                               shares[i], line, i, str(posted.get("prefix", ""))),
                        sys.executable)
             for i in range(per_node)]
    codes = [p.wait() for p in procs]
    return next((c for c in codes if c), 0)
