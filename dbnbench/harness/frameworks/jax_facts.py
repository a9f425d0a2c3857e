"""What JAX runs with, and what it reads once: XLA's CPU thread pool (sized from PJRT_NPROC
when JAX's CPU backend starts: jax 0.10 has no XLA_FLAGS thread-count flag, and
--xla_cpu_multi_thread_eigen=false leaves dots multi-threaded), GPU preallocation, the
platforms; and the runtime facts of a worker, each unreadable one None with its reason."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .reading import attempt

THREADS_ENV = "PJRT_NPROC"  # read by XLA's CPU client when it starts (jaxlib 0.10)
POOL_THREAD = "tf_XLAEigen"  # the name XLA gives its CPU intra-op pool's threads
ENV = ("XLA_FLAGS", THREADS_ENV, "JAX_PLATFORMS", "XLA_PYTHON_CLIENT_PREALLOCATE")
NOT_STARTED = (f"not read: JAX's backends had not started, and starting them here, with "
               f"{THREADS_ENV} unset, would fix XLA's CPU pool size before a case sets it")


def xla_cpu_threads() -> tuple[int | None, str | None]:
    """Threads in XLA's CPU intra-op pool of this process, counted by name in /proc."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return None, "no /proc/self/task on this system: the XLA CPU pool cannot be counted"
    count = 0
    for task in tasks.iterdir():
        try:
            count += (task / "comm").read_text().strip() == POOL_THREAD
        except OSError:  # the thread ended while being read
            continue
    if count == 0:
        return None, f"no {POOL_THREAD} thread: JAX's CPU backend has not started in this process"
    return count, None


def setting(jax: Any, name: str) -> Any:
    """A JAX configuration value as this thread sees it (contexts included)."""
    return getattr(jax.config, name)


def read_threads() -> int:
    """The CPU pool's size, or an error saying why it cannot be read."""
    count, why = xla_cpu_threads()
    if count is None:
        raise LookupError(why)
    return count


def backends_started() -> bool:
    """Whether JAX has created its backends (after which their environment is fixed)."""
    try:
        from jax._src.xla_bridge import backends_are_initialized
    except ImportError:  # a private name moved: assume started; threads are read back anyway
        return True
    return bool(backends_are_initialized())


# The CPU pool's size as this process started JAX's backends with it (PJRT_NPROC then), once
# known: counting threads by name also counts TensorFlow's XLA pool where both live in one
# process (a test run; a worker holds one framework).
POOL_SIZE: list[int | None] = [None]


def pool_size() -> int | None:
    """The size JAX's CPU pool started with in this process, or the count of its threads
    where this process did not start it through `prepare_environment`."""
    return POOL_SIZE[0] if POOL_SIZE[0] is not None else xla_cpu_threads()[0]


def prepare_environment(threads: int | None, device: str | None) -> None:
    """What JAX reads once, when its backends start: the CPU pool's size, GPU preallocation
    (off: by default JAX maps 75 % of a card at start, and the worker beside this one would
    run out of memory) and, for a CPU case, the CPU platform alone (no GPU context)."""
    if backends_started():
        return
    if threads is not None:
        os.environ[THREADS_ENV] = str(threads)
    given = os.environ.get(THREADS_ENV, "")
    POOL_SIZE[0] = int(given) if given.isdigit() else None
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if device == "cpu":
        import jax

        jax.config.update("jax_platforms", "cpu")


def jax_facts(reasons: dict[str, str]) -> dict[str, Any]:
    """Version, jaxlib, backend and devices, x64, the default matmul precision, XLA's CPU
    pool and the environment JAX reads. Backends are started only where the pool's size is
    already decided (started before, or PJRT_NPROC set)."""
    import jax
    import jaxlib

    prepare_environment(None, None)
    facts: dict[str, Any] = {"version": jax.__version__,
                             "env": {k: os.environ.get(k) for k in ENV}}
    attempt(facts, reasons, "jaxlib_version", lambda: jaxlib.__version__)
    attempt(facts, reasons, "x64", lambda: bool(setting(jax, "jax_enable_x64")))
    attempt(facts, reasons, "default_matmul_precision",
            lambda: setting(jax, "jax_default_matmul_precision"))
    backend = {"default_backend": jax.default_backend,
               "devices": lambda: [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()],
               "xla_cpu_threads": read_threads}
    may_start = backends_started() or THREADS_ENV in os.environ
    for key, read in backend.items():
        if may_start:
            attempt(facts, reasons, key, read)
        else:
            facts[key] = None
            reasons[key] = NOT_STARTED
    return facts
