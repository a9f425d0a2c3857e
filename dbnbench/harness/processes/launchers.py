"""A run started by a cluster's launcher: torchrun, SLURM's srun, or mpirun.

Each launcher starts one dbnbench process per node and tells it, in its environment, which
node it is and where node 0 is. dbnbench reads that instead of its own `--nnodes`,
`--node-rank` and `--rdzv-endpoint`, and its own options are used only when no launcher is
detected. Node 0 runs the suite; every other node becomes an agent (rendezvous.py).

dbnbench starts each case's ranks itself (so it can time, contain and kill them), so a
launcher must start one process per node; several per node are refused in one line, except
when every process is on this one machine (a launcher tried out on one host): then each acts
as a node, and the nodes must hold different cores (mpirun binds each process to its own by
default; with torchrun, start each under `taskset -c`).

What each launcher exports (read here, never changed):
- torchrun: RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, GROUP_WORLD_SIZE, MASTER_ADDR,
  MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE (True: the agents host a store at MASTER_ADDR:
  MASTER_PORT that every process joins: with the c10d rendezvous, the rendezvous endpoint).
- SLURM (inside `srun`): SLURM_PROCID, SLURM_NTASKS, SLURM_NODEID, SLURM_STEP_NUM_NODES or
  SLURM_NNODES, SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE, SLURM_STEP_NODELIST or
  SLURM_JOB_NODELIST (compressed: node[01-04,07]). Node 0 is the first host of the list.
- Open MPI: OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_SIZE; MPICH
  and Intel MPI (Hydra): PMI_RANK, PMI_SIZE, MPI_LOCALNRANKS. MPI exports no address of
  rank 0: MASTER_ADDR gives it (`mpirun -x MASTER_ADDR=…`), or, with every rank on this
  machine, 127.0.0.1.
MASTER_ADDR and MASTER_PORT, where set, name node 0's store for SLURM and MPI too; the port
defaults to DEFAULT_PORT."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ..errors import UserError

DEFAULT_PORT = 29500  # torchrun's MASTER_PORT default: the one port to open on node 0


@dataclass(frozen=True)
class Launched:
    """What a launcher told this process."""

    launcher: str  # "torchrun", "slurm", "mpi"
    rank: int  # this process among all the launcher started
    world: int  # processes the launcher started
    local_world: int  # of them on this machine
    node_rank: int
    nnodes: int
    host: str | None  # node 0's address, where known
    port: int
    agent_store: bool  # the launcher hosts the store every process joins

    @property
    def one_machine(self) -> bool:
        """Every process on this machine: a launcher tried out on one host."""
        return self.local_world == self.world


def _int(env: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise UserError(f"{name}={value!r} (set by the launcher) is not a whole "
                                "number") from None
    return None


def _port(env: Mapping[str, str]) -> int:
    port = _int(env, "MASTER_PORT")
    if port is None:
        return DEFAULT_PORT
    if not 1 <= port <= 65535:
        raise UserError(f"MASTER_PORT={port} is not a port (1-65535)")
    return port


def expand_nodelist(text: str) -> list[str]:
    """SLURM's compressed host list in order: 'gpu[01-03,07],cpu5' → gpu01 gpu02 gpu03
    gpu07 cpu5 (ranges keep their zero padding; several bracket groups multiply)."""
    hosts: list[str] = []
    for item in re.findall(r"(?:[^,\[]|\[[^\]]*\])+", text.strip()):
        expanded = [""]
        for literal, group in re.findall(r"([^\[]*)(?:\[([^\]]*)\])?", item):
            choices = [literal]
            if group:
                choices = [literal + value for value in _range_values(group, text)]
            elif not literal:
                continue
            expanded = [head + tail for head in expanded for tail in choices]
        hosts += [h for h in expanded if h]
    if not hosts:
        raise UserError(f"SLURM node list {text!r} names no host")
    return hosts


def _range_values(group: str, text: str) -> list[str]:
    values = []
    for part in group.split(","):
        low, sep, high = part.partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            raise UserError(f"SLURM node list {text!r}: cannot read the range {part!r}")
        if not sep:
            values.append(low)
            continue
        width = len(low) if low.startswith("0") else 0
        values += [str(n).zfill(width) for n in range(int(low), int(high) + 1)]
    return values


def _torchrun(env: Mapping[str, str]) -> Launched | None:
    if "TORCHELASTIC_RUN_ID" not in env and not {"GROUP_RANK", "LOCAL_WORLD_SIZE"} <= env.keys():
        return None
    rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
    local, node = _int(env, "LOCAL_WORLD_SIZE"), _int(env, "GROUP_RANK")
    if None in (rank, world, local, node):
        return None
    assert rank is not None and world is not None and local is not None and node is not None
    nnodes = _int(env, "GROUP_WORLD_SIZE") or max(world // max(local, 1), 1)
    return Launched("torchrun", rank, world, local, node, nnodes, env.get("MASTER_ADDR"),
                    _port(env), env.get("TORCHELASTIC_USE_AGENT_STORE") == "True")


def _slurm(env: Mapping[str, str]) -> Launched | None:
    # SLURM_LOCALID is set for the tasks srun starts, not in a batch script: a script that
    # runs dbnbench directly is one process, not a launched group.
    if not {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"} <= env.keys():
        return None
    rank, world = _int(env, "SLURM_PROCID"), _int(env, "SLURM_NTASKS")
    nnodes = _int(env, "SLURM_STEP_NUM_NODES", "SLURM_NNODES")
    node = _int(env, "SLURM_NODEID")
    if None in (rank, world, nnodes, node):
        return None
    assert rank is not None and world is not None and nnodes is not None and node is not None
    per_node = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE") or ""
    local = _tasks_here(per_node, node) or max(world // max(nnodes, 1), 1)
    nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or ""
    host = env.get("MASTER_ADDR") or (expand_nodelist(nodelist)[0] if nodelist else None)
    return Launched("slurm", rank, world, local, node, nnodes, host, _port(env), False)


def _tasks_here(per_node: str, node: int) -> int | None:
    """SLURM_STEP_TASKS_PER_NODE ('2(x3),1': two tasks on each of three nodes, then one) at
    this node's place."""
    counts: list[int] = []
    for part in filter(None, per_node.split(",")):
        match = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
        if not match:
            return None
        counts += [int(match[1])] * int(match[2] or 1)
    return counts[node] if node < len(counts) else None


def _mpi(env: Mapping[str, str]) -> Launched | None:
    if "OMPI_COMM_WORLD_RANK" in env:
        rank, world = _int(env, "OMPI_COMM_WORLD_RANK"), _int(env, "OMPI_COMM_WORLD_SIZE")
        local = _int(env, "OMPI_COMM_WORLD_LOCAL_SIZE")
    elif "PMI_RANK" in env:
        rank, world = _int(env, "PMI_RANK"), _int(env, "PMI_SIZE")
        local = _int(env, "MPI_LOCALNRANKS")
    else:
        return None
    if rank is None or world is None:
        return None
    local = local or 1
    host = env.get("MASTER_ADDR") or ("127.0.0.1" if local == world else None)
    # One process per node: the rank is the node's (checked by `nodes_of`).
    return Launched("mpi", rank, world, local, rank, world, host, _port(env), False)


def detect(env: Mapping[str, str]) -> Launched | None:
    """The launcher that started this process, or None (torchrun first: it may itself run
    inside a SLURM allocation or under mpirun)."""
    for read in (_torchrun, _slurm, _mpi):
        found = read(env)
        if found is not None:
            return found
    return None


HOW_TO_START_ONE = {
    "torchrun": "torchrun --nproc-per-node=1",
    "slurm": "srun --ntasks-per-node=1",
    "mpi": "mpirun --map-by ppr:1:node (Open MPI) or -ppn 1 (MPICH)",
}


def checked(found: Launched) -> Launched:
    """A launched group dbnbench can run as, or a one-line refusal saying what to change."""
    if found.local_world > 1 and not found.one_machine:
        raise UserError(f"{found.launcher} started {found.local_world} dbnbench processes on "
                        f"this node; start one per node ({HOW_TO_START_ONE[found.launcher]}): "
                        "dbnbench starts each case's ranks itself, to time, contain and kill "
                        "them")
    if found.one_machine and found.local_world > 1:
        # Each process of a one-host trial is a node of its own.
        found = replace(found, local_world=1, node_rank=found.rank, nnodes=found.world)
    if found.nnodes > 1 and not found.host:
        raise UserError(f"{found.launcher}: node 0's address is unknown; set MASTER_ADDR to it "
                        "(mpirun -x MASTER_ADDR=HOST, or export it before srun)")
    if not 0 <= found.node_rank < found.nnodes:
        raise UserError(f"{found.launcher}: node rank {found.node_rank} is not in "
                        f"0..{found.nnodes - 1}")
    return found
