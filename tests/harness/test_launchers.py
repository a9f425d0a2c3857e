"""A run started by a cluster's launcher: each launcher's variables read as the node's place
(harness/processes/launchers.py), several processes per node refused in one line."""

from __future__ import annotations

import pytest

from dbnbench.format.errors import UserError
from dbnbench.harness.processes.launchers import DEFAULT_PORT, checked, detect, expand_nodelist
from dbnbench.harness.processes.rendezvous import parse_nodes

TORCHRUN_NODE_1 = {  # torchrun --nnodes=2 --nproc-per-node=1 --rdzv-backend=c10d, node 1
    "RANK": "1", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1",
    "GROUP_RANK": "1", "GROUP_WORLD_SIZE": "2", "ROLE_RANK": "1", "MASTER_ADDR": "10.0.0.5",
    "MASTER_PORT": "29400", "TORCHELASTIC_RUN_ID": "none", "TORCHELASTIC_USE_AGENT_STORE": "True"}
SRUN_NODE_2 = {  # srun -N 3 --ntasks-per-node=1 inside an allocation, the third node
    "SLURM_PROCID": "2", "SLURM_NTASKS": "3", "SLURM_LOCALID": "0", "SLURM_NODEID": "2",
    "SLURM_STEP_NUM_NODES": "3", "SLURM_NNODES": "4", "SLURM_STEP_TASKS_PER_NODE": "1(x3)",
    "SLURM_STEP_NODELIST": "gpu[007-008],cpu3", "SLURM_JOB_NODELIST": "gpu[007-009],cpu3"}
OMPI_RANK_1 = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
               "OMPI_COMM_WORLD_LOCAL_SIZE": "1", "MASTER_ADDR": "node0"}


def test_torchrun_gives_the_node_and_the_agents_store():
    found = checked(detect(TORCHRUN_NODE_1))
    assert (found.launcher, found.node_rank, found.nnodes, found.host, found.port) == (
        "torchrun", 1, 2, "10.0.0.5", 29400)
    assert found.agent_store  # the c10d endpoint's store: every process joins it


def test_torchrun_without_the_agent_store_lets_node_0_host_one():
    found = detect({**TORCHRUN_NODE_1, "TORCHELASTIC_USE_AGENT_STORE": "False"})
    assert not found.agent_store


def test_srun_gives_the_node_and_node_0_is_the_first_host_of_the_step():
    found = checked(detect(SRUN_NODE_2))
    assert (found.launcher, found.node_rank, found.nnodes, found.local_world) == ("slurm", 2, 3, 1)
    assert (found.host, found.port) == ("gpu007", DEFAULT_PORT)


def test_master_addr_and_port_override_what_slurm_implies():
    found = detect({**SRUN_NODE_2, "MASTER_ADDR": "login1", "MASTER_PORT": "31000"})
    assert (found.host, found.port) == ("login1", 31000)


def test_a_batch_script_without_srun_is_one_process_not_a_group():
    batch = {k: v for k, v in SRUN_NODE_2.items() if k != "SLURM_LOCALID"}
    assert detect(batch) is None


@pytest.mark.parametrize(("text", "hosts"), [
    ("node1", ["node1"]),
    ("gpu[01-03,07],cpu5", ["gpu01", "gpu02", "gpu03", "gpu07", "cpu5"]),
    ("n[8-11]", ["n8", "n9", "n10", "n11"]),
    ("rack[1-2]-n[01-02]", ["rack1-n01", "rack1-n02", "rack2-n01", "rack2-n02"]),
    ("a,b[009-010]", ["a", "b009", "b010"]),
])
def test_slurm_compressed_node_lists_expand_in_order(text, hosts):
    assert expand_nodelist(text) == hosts


@pytest.mark.parametrize("text", ["", "n[a-b]", "n[1-]"])
def test_an_unreadable_node_list_is_one_line(text):
    with pytest.raises(UserError):
        expand_nodelist(text)


def test_open_mpi_and_mpich_give_the_rank_as_the_node():
    ompi = checked(detect(OMPI_RANK_1))
    assert (ompi.launcher, ompi.node_rank, ompi.nnodes, ompi.host) == ("mpi", 1, 2, "node0")
    hydra = checked(detect({"PMI_RANK": "0", "PMI_SIZE": "4", "MPI_LOCALNRANKS": "1",
                            "MASTER_ADDR": "h0", "MASTER_PORT": "30000"}))
    assert (hydra.node_rank, hydra.nnodes, hydra.port) == (0, 4, 30000)


def test_mpi_without_master_addr_over_several_machines_says_how_to_give_it():
    with pytest.raises(UserError, match="set MASTER_ADDR"):
        checked(detect({k: v for k, v in OMPI_RANK_1.items() if k != "MASTER_ADDR"}))


@pytest.mark.parametrize(("env", "said"), [
    ({**TORCHRUN_NODE_1, "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2"}, "torchrun --nproc-per-node=1"),
    ({**SRUN_NODE_2, "SLURM_NTASKS": "6", "SLURM_STEP_TASKS_PER_NODE": "2(x3)"},
     "srun --ntasks-per-node=1"),
    ({**OMPI_RANK_1, "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}, "mpirun"),
])
def test_several_processes_per_node_are_told_to_start_one(env, said):
    with pytest.raises(UserError, match="start one per node") as caught:
        checked(detect(env))
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_every_process_on_one_machine_makes_each_a_node():
    """A launcher tried on one host (mpirun --oversubscribe -np 2): each process a node."""
    found = checked(detect({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
                            "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}))
    assert (found.node_rank, found.nnodes, found.host) == (1, 2, "127.0.0.1")


def test_no_launcher_no_options_is_a_plain_run():
    assert detect({"PATH": "/bin", "HOME": "/root"}) is None
    assert parse_nodes(None, None, None, 60, env={}) is None


def test_the_options_win_over_a_launcher_and_a_launcher_fills_them_otherwise():
    own = parse_nodes(2, 0, "127.0.0.1:29999", 60, env=TORCHRUN_NODE_1)
    assert (own.rank, own.port, own.launcher) == (0, 29999, None)
    launched = parse_nodes(None, None, None, 60, env=TORCHRUN_NODE_1)
    assert (launched.rank, launched.count, launched.host, launched.port) == (1, 2, "10.0.0.5", 29400)
    assert (launched.launcher, launched.hosted) == ("torchrun", False)


def test_a_bad_launcher_variable_is_one_line():
    with pytest.raises(UserError, match="MASTER_PORT=70000"):
        detect({**SRUN_NODE_2, "MASTER_PORT": "70000"})
    with pytest.raises(UserError, match="SLURM_PROCID='x'"):
        detect({**SRUN_NODE_2, "SLURM_PROCID": "x"})
