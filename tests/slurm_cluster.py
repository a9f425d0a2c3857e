"""A throwaway SLURM on this machine for the srun test: munged, slurmctld and slurmd from
Debian's slurm-wlm and munge, each with its files in one temporary folder and its own ports,
started in the foreground as children of the test session and killed when it ends.

It needs root (slurmd starts tasks as their user) and the three binaries. A machine already
in a cluster (`sinfo` answers) is used as it is instead. Anything else: the test skips with
the reason."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")


@dataclass
class Slurm:
    srun: str
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    folder: Path | None = None

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(env: dict[str, str]) -> bool:
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return False
    done = subprocess.run([sinfo, "-h", "-o", "%t"], env=env, capture_output=True, text=True,
                          timeout=20, check=False)
    return done.returncode == 0 and "idle" in done.stdout


def start() -> Slurm | str:
    """A SLURM to run srun against, or why there is none."""
    srun = shutil.which("srun")
    if srun is None:
        return "no srun on this machine (Debian: apt-get install slurm-wlm munge)"
    if os.environ.get("SLURM_CONF") and _answers(dict(os.environ)):
        return Slurm(srun, dict(os.environ))
    paths = {d: shutil.which(d) or shutil.which(d, path="/usr/sbin:/sbin") for d in DAEMONS}
    missing = [d for d, p in paths.items() if p is None]
    if missing:
        return f"no {', '.join(missing)} on this machine (Debian: slurm-wlm, munge)"
    if os.geteuid() != 0:
        return "starting slurmd needs root"
    folder = Path(tempfile.mkdtemp(prefix="dbnbench-slurm-"))
    host = socket.gethostname()
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = folder / "munge.sock"
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    conf = folder / "slurm.conf"
    conf.write_text(f"""ClusterName=dbnbench-test
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
NodeName={host} CPUs={os.cpu_count() or 1} State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    slurm = Slurm(srun, env, folder=folder)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    try:
        slurm.procs.append(subprocess.Popen(
            [paths["munged"], "-F", "--force", f"--socket={sock}", f"--key-file={key}",
             f"--pid-file={folder}/munged.pid", f"--log-file={folder}/munged.log",
             f"--seed-file={folder}/munged.seed"], **quiet))
        time.sleep(0.5)
        slurm.procs.append(subprocess.Popen([paths["slurmctld"], "-D", "-f", str(conf)], **quiet))
        time.sleep(1.0)
        slurm.procs.append(subprocess.Popen([paths["slurmd"], "-D", "-f", str(conf)], **quiet))
        deadline = time.monotonic() + 30
        while not _answers(env):
            if time.monotonic() > deadline or any(p.poll() is not None for p in slurm.procs):
                logs = " ".join(p.name for p in folder.glob("*.log"))
                slurm.stop()
                return f"the test's SLURM did not come up within 30 s (logs: {logs})"
            time.sleep(0.5)
    except BaseException:
        slurm.stop()
        raise
    return slurm
