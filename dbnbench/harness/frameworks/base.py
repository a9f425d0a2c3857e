"""What every framework adapter offers the worker: device, precision, threads, sync, memory."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Literal

from ..errors import Skip
from .products import Observation

GPU_ONLY = "TF32 is a tensor-core mode of NVIDIA GPUs (Ampere and later); CPUs have no TF32"


# What a roof's GEMM multiplies. A power-capped GPU can clock differently on 0/1 matrices
# (fewer bits toggle) than on uniform ones, so a roof timed on one kind alone may sit below
# what an RBM's products reach.
Operands = Literal["uniform", "binary"]
OPERANDS: tuple[Operands, ...] = ("uniform", "binary")


PROBE_REPEATS = 7  # timed calls of a group's communication probe


def probe_median(op: Callable[[], Any], sync: Callable[[], None] = lambda: None) -> float:
    """Median seconds of one call of `op`, a collective every rank of a group makes at the
    same time: one untimed call, then PROBE_REPEATS timed ones."""
    return statistics.median(timed_repeats(op, sync, PROBE_REPEATS, 1))


def timed_repeats(op: Callable[[], Any], sync: Callable[[], None], repeats: int,
                  loops: int) -> list[float]:
    """Seconds per call of `op`: one untimed call, then `repeats` timings of `loops` calls,
    each synchronised at both ends and divided by `loops`."""
    op()
    sync()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(loops):
            op()
        sync()
        out.append((time.perf_counter() - t0) / loops)
    return out


class Framework:
    """Base adapter. Subclasses import their framework lazily, inside `activate`."""

    name: ClassVar[str]
    label: ClassVar[str | None] = None  # short form for narrow tables; None: the name
    rank: ClassVar[int] = 50  # order among frameworks in lists, suites and reports
    module: ClassVar[str]  # import name, looked up without importing
    distributions: ClassVar[tuple[str, ...]]  # first installed one gives the version
    install_hint: ClassVar[str]
    precisions: ClassVar[dict[str, str | None]]  # precision -> None (supported) or why not
    gpu: ClassVar[bool] = False
    # A built-in workload's implementation in this framework is the one `*Bench` class of
    # the module of this name in the workload's folder (rbm/torch_impl.py, ...).
    impl_module: ClassVar[str | None] = None
    # Implementations this framework's package brings for workloads defined elsewhere:
    # workload name -> "module:Class".
    implementations: ClassVar[dict[str, str]] = {}
    # The framework whose GEMM roof this one's cases are measured against (None: its own);
    # scikit-learn's products are NumPy's.
    calibrate_as: ClassVar[str | None] = None
    # Variables a worker process is started with, set to the case's threads, for a library
    # that sizes its pool once from the environment (JAX's PJRT_NPROC); and the variables
    # (prefixes) this framework reads, recorded with the machine's performance settings.
    thread_variables: ClassVar[tuple[str, ...]] = ()
    env_prefixes: ClassVar[tuple[str, ...]] = ()
    # Why a case of several processes (data-parallel workers, pipeline stages) cannot run
    # in this framework; None where it can.
    groups: ClassVar[str | None] = "dbnbench runs no case of this framework as several processes"
    # Whether a group's rank 0 needs a process that ran nothing of this framework before
    # (the pool then gives it a fresh worker and retires that worker after the case).
    fresh_group_process: ClassVar[bool] = False

    def __init__(self, device: str, precision: str, threads: int, seed: int) -> None:
        self.group: Any = None  # the case's process group, while a multi-rank case runs
        self.device = device
        self.precision = precision
        self.threads = threads
        self.seed = seed

    # ---- static facts, answered without importing the framework ----
    @classmethod
    def installed(cls) -> bool:
        try:
            return importlib.util.find_spec(cls.module) is not None
        except (ImportError, ValueError):  # a broken or blocked install counts as absent
            return False

    @classmethod
    def version(cls) -> str | None:
        for dist in cls.distributions:
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return None

    @classmethod
    def short(cls) -> str:
        return cls.label or cls.name

    @classmethod
    def runtime_facts(cls, reasons: dict[str, str]) -> dict[str, Any] | None:
        """Inside a worker, after the framework is imported: what the library says it runs
        (version, math settings, builds), each unreadable fact None with its reason in
        `reasons`. None where the adapter reads nothing."""
        reasons["facts"] = f"the {cls.name} adapter reads no runtime facts"
        return None

    @classmethod
    def kernel_findings(cls, cpu_level: str, info: dict[str, Any], env: Mapping[str, str]
                        ) -> Iterator[dict[str, Any]]:
        """Findings about the framework's own kernels on this CPU (`info`: its worker's
        runtime record; `cpu_level`: the CPU's ISA level): beyond the BLAS pools and ISA
        caps every framework is checked for."""
        return iter(())

    @classmethod
    def supports(cls, device: str, precision: str) -> str | None:
        """Why this framework cannot run this (device, precision), or None."""
        if device.startswith("cuda") and not cls.gpu:
            return f"{cls.name} runs on the CPU only"
        why = cls.precisions.get(precision, f"{cls.name} has no precision mode '{precision}'")
        if why is None and precision == "tf32" and device == "cpu":
            return GPU_ONLY
        return why

    # ---- inside the worker ----
    def activate(self) -> None:
        """Import the framework, fix threads and math flags; raise Skip if this mode cannot run."""
        why = self.supports(self.device, self.precision)
        if why:
            raise Skip(why)

    def sync(self) -> None:
        """Wait for queued device work; a no-op where work is synchronous."""

    def seed_all(self, seed: int) -> None:
        """Seed the framework's own generators."""

    def compiles(self) -> tuple[int, float] | None:
        """(compilations, their seconds) in this process so far, for a framework that
        compiles a step on its first call (JAX's jit); None where there is nothing to count.
        The worker reads it around setup, warm-up and the timed window: compile time is
        recorded apart, and a compilation inside the timed window is flagged."""
        return None

    def reset_peak_memory(self) -> None:
        pass

    def device_free_bytes(self) -> int | None:
        """Free memory on the case's device; None where it is host memory (psutil's)."""
        return None

    def peak_device_memory(self) -> tuple[int | None, str | None]:
        """(bytes, None) or (None, reason it is not measured)."""
        if self.device == "cpu":
            return None, "CPU case: device memory is host memory (see peak_host_memory_bytes)"
        return None, f"{self.name} reports no device memory peak"

    @classmethod
    def group_store(cls, host: str, port: int, master: bool, timeout_s: float,
                    prefix: str = "") -> Any:
        """The key-value store a case's ranks (or a run's nodes) meet through; the master
        hosts it; `prefix`: the keys of one case in a store shared by a run. Imports the
        framework itself: the parent calls it for a run's nodes."""
        raise Skip(cls.groups or f"{cls.name} has no process group")

    def open_group(self, store: Any, rank: int, world: int, timeout_s: float) -> Any:
        """Join the case's process group; sets and returns `self.group`."""
        raise Skip(self.groups or f"{self.name} has no process group")

    def math_flags(self) -> dict[str, Any]:
        """The flags in effect for this case, read back from the framework where it can say."""
        return {"threads": self.threads}

    def observe_products(self, impl: Any) -> Observation:
        """Run one step of `impl` and report the matrix products that actually ran."""
        return Observation("none", reason=f"the {self.name} adapter cannot observe products")

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Context for the compute of a step; mixed modes switch on autocasting here."""
        yield

    def gemm_times(self, m: int, n: int, k: int, repeats: int, loops: int,
                   operands: Operands = "uniform") -> list[float]:
        """Seconds per (m×k)·(k×n) product in this precision: `repeats` timings, each of
        `loops` back-to-back products (synchronised) divided by `loops`, after one untimed
        product. `operands` is what the matrices hold: "uniform" draws from [0, 1),
        "binary" 0s and 1s at even odds, as an RBM's sampled units are."""
        raise NotImplementedError

    def triad_times(self, n: int, repeats: int) -> tuple[list[float], int] | None:
        """STREAM's triad a = b + s·c over n float32 elements: seconds per pass, and the bytes
        one pass moves as STREAM counts them. None where the adapter has no triad."""
        return None
