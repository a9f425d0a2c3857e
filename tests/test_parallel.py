"""Data parallelism: the same update from W replicas on batch / W rows each as from one
process on the whole batch (torch.distributed over gloo, real processes), and the process
group through the harness."""

from __future__ import annotations

import json
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


def saved_arrays(path: str) -> list[np.ndarray]:
    saved = np.load(path)
    return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def ranks_of(body: str, world: int, tmp_path) -> list[list[np.ndarray]]:
    """What every rank of a `world`-process gloo group returned, by rank."""
    import torch.multiprocessing as mp

    out = tmp_path / "rank"
    mp.spawn(parallel_ranks.rank, args=(world, free_port(), body, str(out)), nprocs=world,
             join=True)
    return [saved_arrays(f"{out}.{r}.npz") for r in range(world)]


def replicated(body: str, world: int, tmp_path) -> list[np.ndarray]:
    return ranks_of(body, world, tmp_path)[0]


TF_BODIES = ("finetune", "rbm", "pretrain")


@pytest.fixture(scope="module")
def tf_updates(tmp_path_factory) -> dict[str, tuple[list[list[np.ndarray]], list[np.ndarray]]]:
    """What every rank of a 2-worker MultiWorkerMirroredStrategy group returned for each
    body, by rank, and what one process alone returned: each a fresh interpreter
    (collectives are configured before TensorFlow starts), every body in the same group."""
    import subprocess
    import sys

    require_framework("tensorflow")
    require_framework("torch")  # its TCPStore is where TensorFlow's ranks meet
    world, bodies = 2, ",".join(TF_BODIES)
    out, port = tmp_path_factory.mktemp("tf") / "rank", free_port()
    ranks = [[str(r), str(world), str(port), bodies, str(out)] for r in range(world)]
    procs = [subprocess.Popen([sys.executable, "-m", "tests.tf_parallel_ranks", *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for args in [*ranks, ["alone", bodies, str(out)]]]
    try:
        errors = [p.communicate(timeout=300)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, err in zip(procs, errors, strict=True):
        assert p.returncode == 0, err[-3000:]
    return {body: ([saved_arrays(f"{out}.{body}.{r}.npz") for r in range(world)],
                   saved_arrays(f"{out}.{body}.alone.npz")) for body in TF_BODIES}


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
@pytest.mark.parametrize("body", ["finetune", "rbm", "pretrain"])
def test_two_replicas_on_half_batches_make_the_whole_batch_update(framework, body, tmp_path,
                                                                    request):
    require_framework(framework)
    if framework == "torch":
        together, alone = replicated(body, 2, tmp_path), parallel_ranks.alone(body)
    else:
        by_rank, alone = request.getfixturevalue("tf_updates")[body]
        for other in by_rank[1:]:  # every replica applied the same update
            for a, b in zip(by_rank[0], other, strict=True):
                np.testing.assert_array_equal(a, b)
        together = by_rank[0]
    assert len(together) == len(alone)
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = parallel_ranks.alone(body)  # and the updates did move the weights
    assert any(not np.allclose(a, 0) for a in moved)


@pytest.mark.parametrize("stages", [2, 3])
def test_a_pipeline_makes_the_unsplit_forward_and_backward_update(stages, tmp_path):
    require_framework("torch")
    by_rank = ranks_of("pipeline_finetune", stages, tmp_path)
    together = [a for arrays in by_rank for a in arrays]  # the stages' layers, in order
    alone = parallel_ranks.alone("pipeline_finetune")
    assert len(together) == len(alone) == 2 * (len(parallel_ranks.SIZES) - 1)
    assert all(len(arrays) >= 2 for arrays in by_rank)  # every stage held layers
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_pipelined_forward_pass_gives_the_unsplit_probabilities(tmp_path):
    require_framework("torch")
    by_rank = ranks_of("pipeline_forward", 2, tmp_path)
    assert by_rank[0] == []  # the first stage hands its activations on and keeps nothing
    (probs,) = by_rank[1]
    (alone,) = parallel_ranks.alone("pipeline_forward")
    np.testing.assert_allclose(probs, alone, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_layers_are_split_so_the_heaviest_stage_is_lightest():
    from dbnbench.suites.pipeline import split_layers

    # 784-500-500-2000-10: 392k, 250k, 1000k, 20k weights
    assert split_layers([392_000, 250_000, 1_000_000, 20_000], 2) == [range(0, 2), range(2, 4)]
    assert split_layers([1, 1, 1, 1], 4) == [range(i, i + 1) for i in range(4)]
    with pytest.raises(ValueError):
        split_layers([1, 1], 3)


# ---------------------------------------------------------------- through the harness
SUITE = """
name = "dp"
[settings]
rounds = 1
repetitions = {repetitions}
min_time_s = {min_time}
warmup_s = 0.02
timeout_s = 120
quality = false
threads = 1
[[cases]]
workload = "rbm-cdk"
frameworks = {frameworks}
devices = ["cpu"]
precisions = ["fp32"]
params = {{ visible = 64, hidden = 64, batch = {batch}, workers = {workers} }}
"""


def suite(tmp_path, *, workers: str = "[1, 2]", batch: int | str = 32, repetitions: int = 3,
          min_time: float = 0.02, frameworks: str = '["torch"]') -> str:
    path = tmp_path / "dp.toml"
    path.write_text(SUITE.format(workers=workers, batch=batch, repetitions=repetitions,
                                 min_time=min_time, frameworks=frameworks))
    return str(path)


def rank_processes() -> list:
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        if "dbnbench.harness.processes.rank" in " ".join(p.info["cmdline"] or []):
            found.append(p)
    return found


def cases_of(out) -> dict:
    from dbnbench.format import results

    (path,) = out.glob("*.json")
    return {c["id"]: c for c in results.load(path)["cases"]}


BACKEND = {"torch": "gloo", "tensorflow": "grpc ring (MultiWorkerMirroredStrategy)"}


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_a_two_worker_case_runs_as_a_group_and_says_what_ran(tmp_path, cli, framework):
    require_framework("torch")
    require_framework(framework)
    out = tmp_path / "out"
    done = cli("run", "--suite", suite(tmp_path, frameworks=f'["{framework}"]'), "-o", str(out),
               "--no-html")
    assert done.returncode == 0, done.stderr[-2000:]
    cases = cases_of(out)
    one, two = cases[f"rbm-cdk/{framework}/cpu/fp32/v64-h64-b32-k1"], \
        cases[f"rbm-cdk/{framework}/cpu/fp32/v64-h64-b32-k1-w2"]
    assert one["status"] == two["status"] == "ok"
    assert "parallel" not in one or one["parallel"] is None
    group = two["parallel"]
    assert (group["world"], group["workers"], group["backend"], group["nodes"]) == \
        (2, 2, BACKEND[framework], 1)
    # Every rank's energy meter answered (a rank out of step with rank 0 would not).
    assert "no reading within" not in json.dumps(two)
    if framework == "tensorflow":  # the TF_CONFIG cluster: one loopback server per rank
        hosts = [address.rsplit(":", 1) for address in group["cluster"]]
        assert [h for h, _ in hosts] == ["127.0.0.1"] * 2 and hosts[0][1] != hosts[1][1]
    else:
        assert "cluster" not in group
    assert group["threads_per_rank"] == 1
    cores = group["cores_by_rank"]
    assert [len(c) for c in cores] == [1, 1] and cores[0] != cores[1]
    comm = group["communication"]
    assert comm["elements_per_step"] == 64 * 64 + 64 + 64
    assert comm["bytes_per_step"] == 4 * comm["elements_per_step"]
    assert 0 < comm["allreduce_s"] < comm["step_s"] * 100 and comm["share"] > 0
    assert two["items_per_step"] == 32  # the global batch: both replicas' rows
    assert not rank_processes()


def test_every_group_gets_a_core_per_rank_not_only_the_first(tmp_path, cli):
    """Rank 0 pins its worker while a group runs; the next group must still find both
    cores (a worker left pinned put the second group's ranks on one core at half speed)."""
    require_framework("torch")
    out = tmp_path / "out"
    done = cli("run", "--suite", suite(tmp_path, workers="2", batch="[32, 64, 96]"), "-o",
               str(out), "--no-html")
    assert done.returncode == 0, done.stderr[-2000:]
    cases = cases_of(out)
    assert len(cases) == 3
    for case in cases.values():
        assert case["status"] == "ok", case["reason"]
        cores = case["parallel"]["cores_by_rank"]
        assert len(cores) == 2 and all(len(c) == 1 for c in cores) and cores[0] != cores[1]


def test_a_rank_without_a_core_of_its_own_is_an_error_not_a_shared_core():
    from dbnbench.harness.processes.case_group import GroupError, cores_of

    assert cores_of((0, 1, 2, 3), 1, 2) == (2, 3)
    assert cores_of((), 5, 1) == ()  # no affinity API: nothing pinned, nothing claimed
    with pytest.raises(GroupError, match="rank 1 needs 1 core"):
        cores_of((0,), 1, 1)


PIPELINE_SUITE = """
name = "pp"
[settings]
rounds = 1
repetitions = 3
min_time_s = 0.02
warmup_s = 0.02
timeout_s = 120
quality = false
threads = 1
[[cases]]
workload = "dbn-inference"
frameworks = ["torch"]
devices = ["cpu"]
precisions = ["fp32"]
params = { layers = [32, 24, 16], batch = 16, microbatches = 2, stages = [1, 2] }
[[cases]]
workload = "dbn-finetune"
frameworks = ["torch"]
devices = ["cpu"]
precisions = ["fp32"]
params = { layers = [32, 24, 16], batch = 16, accumulate = 2, stages = 2 }
[[cases]]
workload = "dbn-pretrain"
frameworks = ["torch"]
devices = ["cpu"]
precisions = ["fp32"]
params = { layers = [32, 24, 16], batch = 16, workers = 2 }
"""


def test_pipelines_and_pretraining_run_through_the_harness_and_say_what_they_left_out(
        tmp_path, cli):
    require_framework("torch")
    path, out = tmp_path / "pp.toml", tmp_path / "out"
    path.write_text(PIPELINE_SUITE)
    done = cli("run", "--suite", str(path), "-o", str(out), "--no-html")
    assert done.returncode == 0, done.stderr[-2000:]
    cases = cases_of(out)
    one = next(c for i, c in cases.items() if i.startswith("dbn-inference") and "-s2" not in i)
    assert one["status"] == "ok" and "extra" not in one["metrics"]["unmeasured"]
    piped = [c for i, c in cases.items() if "-s2" in i]
    assert len(piped) == 2
    for case in piped:
        assert case["status"] == "ok", case["reason"]
        group = case["parallel"]
        assert (group["world"], group["stages"], group["workers"]) == (2, 2, 1)
        assert group["communication"]["allreduce_s"] is None
        assert "point to point" in group["communication"]["reason"]
        assert case["metrics"]["extra"] is None
        if case["workload"] == "dbn-inference":  # latency percentiles: rank 0 cannot time them
            assert "rank 0 alone" in case["metrics"]["unmeasured"]["extra"]
    pretrain = cases["dbn-pretrain/torch/cpu/fp32/l32-24-16-b16-k1-w2"]
    assert pretrain["status"] == "ok", pretrain["reason"]
    assert pretrain["parallel"]["communication"]["elements_per_step"] == \
        32 * 24 + 32 + 24 + 24 * 16 + 24 + 16  # every layer's statistics
    assert "rank 0 alone" in pretrain["metrics"]["unmeasured"]["extra"]  # per-layer rates
    assert not rank_processes()


def test_one_replica_can_run_through_torch_distributed(tmp_path, cli):
    require_framework("torch")
    out = tmp_path / "out"
    done = cli("run", "--suite", suite(tmp_path, workers="1, distributed = true"), "-o",
               str(out), "--no-html")
    assert done.returncode == 0, done.stderr[-2000:]
    (case,) = cases_of(out).values()
    assert case["id"].endswith("-w1dist") and case["status"] == "ok"
    assert (case["parallel"]["world"], case["parallel"]["backend"]) == (1, "gloo")
    assert case["parallel"]["communication"]["allreduce_s"] > 0


def formed(rank) -> bool:
    """Whether a follower is joining its group: once it listens for its peers (gloo's pairs,
    TensorFlow's gRPC server). Before, it imports for seconds, and a kill then is a group
    that never formed."""
    try:
        return any(c.status == "LISTEN" for c in rank.net_connections("tcp"))
    except Exception:  # gone, or not ours to read: not formed as far as this test can see
        return False


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_killing_a_rank_fails_its_case_and_the_run_goes_on(tmp_path, framework):
    require_framework("torch")
    require_framework(framework)
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    path = suite(tmp_path, workers="[2, 1]", repetitions=400, min_time=0.02,
                 frameworks=f'["{framework}"]')
    run = subprocess.Popen([sys.executable, "-m", "dbnbench", "run", "--suite", path, "-o",
                            str(out), "--no-html"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (ranks := rank_processes()) or not formed(ranks[0]):
            assert run.poll() is None and time.monotonic() < deadline, "no group formed"
            time.sleep(0.1)
        time.sleep(1.0)  # into the case: set up, stepping
        ranks[0].kill()
        _, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, err[-2000:]  # a case failed
    cases = cases_of(out)
    dead = cases[f"rbm-cdk/{framework}/cpu/fp32/v64-h64-b32-k1-w2"]
    assert dead["status"] == "failed"
    assert "rank 1 of 2 ended (signal SIGKILL)" in dead["reason"]
    assert "before the group formed" not in dead["reason"]  # it died in a collective
    assert cases[f"rbm-cdk/{framework}/cpu/fp32/v64-h64-b32-k1"]["status"] == "ok"
    assert not rank_processes()


@pytest.mark.parametrize(("kwargs", "extra", "said"), [
    ({"workers": "3"}, (), "field 'workers': 3 replicas × 1 micro-batches do not divide the "
                           "batch (32) evenly"),
    ({"workers": "2"}, ("--threads", "64"), "2 processes × 64 thread(s) need 128 CPU cores"),
])
def test_a_group_the_machine_cannot_hold_is_refused_at_load(tmp_path, cli, kwargs, extra,
                                                              said):
    require_framework("torch")
    out = tmp_path / "out"
    done = cli("run", "--suite", suite(tmp_path, **kwargs), "-o", str(out), *extra)
    assert done.returncode == 2
    assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_frameworks_without_process_groups_skip_with_their_reason(tmp_path, cli):
    done = cli("list", "--suite", suite(tmp_path, workers="2", frameworks='["numpy", "sklearn"]'))
    assert done.returncode == 0, done.stderr
    assert "NumPy has no collective communication" in done.stdout
    assert "BernoulliRBM trains in one process" in done.stdout


# ---------------------------------------------------------------- several nodes
def two_cpus() -> None:
    import os

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("two loopback nodes need a core each; this process may use one")


def start(args: list[str], cpu: int | None, cwd=None, env=None):
    """A node of a loopback run, on a core of its own where `cpu` is given (two nodes sharing
    cores are refused). Pinned by `taskset` (no fork hook in this multi-threaded process)."""
    import shutil
    import subprocess

    if cpu is not None:
        taskset = shutil.which("taskset")
        if taskset is None:
            pytest.skip("no taskset (util-linux) to give each loopback node its own core")
        args = [taskset, "-c", str(cpu), *args]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd, env=env)


def finish(*procs, timeout: float = 300) -> list[tuple[int, str, str]]:
    out = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=timeout)
            out.append((proc.returncode, stdout, stderr))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return out


def check_two_node_result(out) -> dict:
    from dbnbench.format import results

    (path,) = out.glob("*.json")
    doc = results.load(path)
    assert [n["hostname"] for n in doc["machine"]["nodes"]] == [doc["machine"]["hostname"]] * 2
    (two,) = [c for c in doc["cases"] if c["id"].endswith("-w2")]
    assert two["status"] == "ok", two["reason"]
    assert (two["parallel"]["nodes"], two["parallel"]["world"],
            two["parallel"]["local_ranks"]) == (2, 2, 1)
    # Node 1's ranks share this host: the run's own CPU, not a neighbour's (a full core of
    # two, 50 %, when they were counted as one).
    assert two["contention"]["other_cpu_share"] < 0.3, two["contention"]
    assert not rank_processes()
    return doc


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_two_nodes_meet_at_the_rendezvous_and_node_0_writes_both_fingerprints(tmp_path,
                                                                              framework):
    require_framework("torch")
    require_framework(framework)
    two_cpus()
    import sys

    endpoint = f"127.0.0.1:{free_port()}"
    nodes = ["--nnodes", "2", "--rdzv-endpoint", endpoint, "--rdzv-timeout", "120"]
    run = [sys.executable, "-m", "dbnbench", "run"]
    agent = start([*run, *nodes, "--node-rank", "1"], cpu=1)
    out = tmp_path / "out"
    node0 = start([*run, "--suite", suite(tmp_path, frameworks=f'["{framework}"]'), "-o",
                   str(out), "--no-html", *nodes, "--node-rank", "0"], cpu=0)
    (code, _, err), (agent_code, _, said) = finish(node0, agent)
    assert code == 0, err[-2000:]
    assert agent_code == 0, said[-2000:]
    assert "node 1 of 2 joined" in said and "the run ended after 1 multi-rank case(s)" in said
    doc = check_two_node_result(out)
    if framework == "tensorflow":  # node 1's rank was given the cluster through the run's store
        (two,) = [c for c in doc["cases"] if c["id"].endswith("-w2")]
        assert len(two["parallel"]["cluster"]) == 2


def test_two_nodes_on_one_host_sharing_cores_are_refused_in_one_line(tmp_path):
    require_framework("torch")
    import sys

    endpoint = f"127.0.0.1:{free_port()}"
    nodes = ["--nnodes", "2", "--rdzv-endpoint", endpoint, "--rdzv-timeout", "120"]
    run = [sys.executable, "-m", "dbnbench", "run"]
    agent = start([*run, *nodes, "--node-rank", "1"], cpu=None)
    node0 = start([*run, "--suite", suite(tmp_path), "-o", str(tmp_path / "out"), *nodes,
                   "--node-rank", "0"], cpu=None)
    (code, _, err), (agent_code, _, _) = finish(node0, agent, timeout=120)
    assert code == 2 and "nodes 0 and 1 are both on" in err, err[-2000:]
    assert len(err.strip().splitlines()) == 1
    assert agent_code in (0, 1)  # told the run ended, or found node 0 gone: never left behind
    assert not (tmp_path / "out").exists()


def test_torchrun_starts_the_same_two_node_run(tmp_path):
    """torchrun --nnodes=2 --nproc-per-node=1 --rdzv-backend=c10d on every node, as on a
    cluster (here two on loopback, a core each): one result by node 0, both fingerprints."""
    require_framework("torch")
    two_cpus()
    import shutil
    import sys
    from pathlib import Path

    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun is not installed beside this Python")
    out = tmp_path / "out"
    args = [torchrun, "--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
            f"--rdzv-endpoint=127.0.0.1:{free_port()}", "-m", "dbnbench", "run", "--suite",
            suite(tmp_path), "-o", str(out), "--no-html"]
    (a, _, a_err), (b, _, b_err) = finish(start(args, cpu=0), start(args, cpu=1))
    assert (a, b) == (0, 0), (a_err[-1500:], b_err[-1500:])
    assert "node 1 of 2 joined" in a_err + b_err
    check_two_node_result(out)


def test_mpirun_starts_the_same_two_node_run(tmp_path):
    """mpirun -np 2 on one host: each process a node (Open MPI binds each to a core)."""
    require_framework("torch")
    two_cpus()
    import os
    import shutil
    import sys

    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("no mpirun on this machine (Debian: apt-get install openmpi-bin)")
    out = tmp_path / "out"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    proc = start([mpirun, "--oversubscribe", "-np", "2", sys.executable, "-m", "dbnbench",
                  "run", "--suite", suite(tmp_path), "-o", str(out), "--no-html"],
                 cpu=None, env=env)
    ((code, _, err),) = finish(proc)
    assert code == 0, err[-2000:]
    doc = check_two_node_result(out)
    (two,) = [c for c in doc["cases"] if c["id"].endswith("-w2")]
    assert two["parallel"]["cores_by_rank"] == [[0], [1]]


def test_srun_starts_the_same_two_node_run(tmp_path, slurm):
    """srun -n 2 --cpu-bind=cores on this machine's own SLURM (tests/slurm_cluster.py)."""
    require_framework("torch")
    two_cpus()
    import sys

    out = tmp_path / "out"
    proc = start([slurm.srun, "-n", "2", "--cpu-bind=cores", sys.executable, "-m", "dbnbench",
                  "run", "--suite", suite(tmp_path), "-o", str(out), "--no-html"],
                 cpu=None, env=slurm.env)
    ((code, _, err),) = finish(proc)
    assert code == 0, err[-2000:]
    check_two_node_result(out)


@pytest.mark.parametrize(("args", "said"), [
    (("--nnodes", "2"), "--nnodes, --node-rank and --rdzv-endpoint go together"),
    (("--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "127.0.0.1:29500"),
     "--node-rank: 2 is not in 0..1"),
    (("--nnodes", "2", "--node-rank", "0", "--rdzv-endpoint", "127.0.0.1"),
     "--rdzv-endpoint: expected HOST:PORT"),
])
def test_bad_node_options_are_one_line(tmp_path, cli, args, said):
    done = cli("run", "--suite", suite(tmp_path), "-o", str(tmp_path / "out"), *args)
    assert done.returncode == 2 and said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_node_0_alone_gives_up_after_the_timeout_in_one_line(tmp_path, cli):
    require_framework("torch")
    done = cli("run", "--suite", suite(tmp_path), "-o", str(tmp_path / "out"), "--nnodes",
               "2", "--node-rank", "0", "--rdzv-endpoint", f"127.0.0.1:{free_port()}",
               "--rdzv-timeout", "2")
    assert done.returncode == 2
    assert "only 1 of 2 nodes joined the rendezvous" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing written, not even the directory
