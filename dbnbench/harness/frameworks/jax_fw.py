"""JAX on the CPU and CUDA GPUs; precision through dtypes, the x64 switch, the default matmul
precision and products with float32 results (`preferred_element_type`) in the mixed modes.

Process-wide state, set in `activate` because the worker keeps one process per (framework,
device) across cases: x64, the default matmul precision and the default device are set
explicitly for every case, so a case never inherits the previous one's. XLA's CPU thread pool
is sized once, when JAX's CPU backend starts: from PJRT_NPROC (XLA_FLAGS has no thread-count
flag in jax 0.10, and --xla_cpu_multi_thread_eigen=false leaves dots multi-threaded), so
`activate` sets it before that moment and reads the pool's size back after it."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

from ...format.precisions import NAMES, PRODUCT_DTYPE
from ..errors import Skip
from ..install import pip_extra
from .base import Framework, Operands, timed_repeats
from .jax_facts import THREADS_ENV, pool_size, prepare_environment, setting, xla_cpu_threads
from .products import Observation

STORAGE = {"fp64": "float64", "bf16": "bfloat16"}  # otherwise float32 (master weights)
MIXED = ("bf16-mixed", "fp16-mixed")  # reduced operands, float32 results
# "highest" keeps every float32 product in full float32: JAX's own default lets a GPU run
# float32 products in TF32. Only the tf32 mode asks for it.
MATMUL_PRECISION = {"tf32": "tensorfloat32"}
# The distributions that give JAX a CUDA backend (a jaxlib of its own CUDA build did, before).
CUDA_PLUGINS = ("jax-cuda13-pjrt", "jax-cuda12-pjrt", "jax-cuda11-pjrt")
COMPILE_EVENTS = {"trace": "/jax/core/compile/jaxpr_trace_duration",
                  "lower": "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "compile": "/jax/core/compile/backend_compile_duration"}

# Duration events by name: [count, seconds], since the first adapter of this process activated.
_EVENTS: dict[str, list[float]] = {name: [0, 0.0] for name in COMPILE_EVENTS.values()}
_LISTENING: list[bool] = [False]


def _record(event: str, duration_secs: float, **_: str | int) -> None:
    totals = _EVENTS.get(event)
    if totals is not None:
        totals[0] += 1
        totals[1] += duration_secs


def one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def has_cuda() -> bool:
    """Whether a CUDA backend for JAX is installed (looked up without importing JAX)."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in (*CUDA_PLUGINS, "jaxlib"):
        try:
            found = version(dist)
        except PackageNotFoundError:
            continue
        if dist != "jaxlib" or "cuda" in found:
            return True
    return False


class JaxFramework(Framework):
    groups = ("JAX has no process group in dbnbench (jax.distributed needs a coordinator "
              "service dbnbench does not launch): data parallelism runs in torch and TensorFlow, "
              "pipeline stages in torch")
    name = "jax"
    label: ClassVar[str] = "jax"
    rank = 30
    module = "jax"
    impl_module: ClassVar[str] = "jax_impl"
    thread_variables = (THREADS_ENV,)  # XLA sizes its CPU pool from it, once
    env_prefixes = ("JAX_", "PJRT_")
    distributions = ("jax",)
    install_hint = pip_extra("jax")
    precisions = dict.fromkeys(NAMES)
    gpu = True

    jax: Any
    jnp: Any
    dev: Any  # the jax Device the case runs on
    dtype: Any  # storage: parameters, data, state
    compute_dtype: Any  # operands of every product
    product_dtype: Any  # results of every product (float32 in the mixed modes)
    key: Any  # the adapter's jax.random key; next_key() splits it

    @classmethod
    def supports(cls, device: str, precision: str) -> str | None:
        why = super().supports(device, precision)
        if why is None and device.startswith("cuda") and cls.version() is not None \
                and not has_cuda():
            return (f"jax {cls.version()} has no CUDA backend installed ({CUDA_PLUGINS[1]} or "
                    f"{CUDA_PLUGINS[0]}: pip install 'jax[cuda12]')")
        return why

    def activate(self) -> None:
        super().activate()
        prepare_environment(self.threads, self.device)
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        if not _LISTENING[0]:
            jax.monitoring.register_event_duration_secs_listener(_record)
            _LISTENING[0] = True
        jax.config.update("jax_enable_x64", self.precision == "fp64")
        jax.config.update("jax_default_matmul_precision",
                          MATMUL_PRECISION.get(self.precision, "highest"))
        self.dev = self._device()
        jax.config.update("jax_default_device", self.dev)
        have = pool_size()
        if have is not None and have != self.threads:
            raise Skip(f"XLA's CPU pool in this process has {have} threads, the case asks for "
                       f"{self.threads}: the pool is sized once, when JAX's CPU backend starts "
                       f"({THREADS_ENV}), and it started earlier in this process")
        self.dtype = jnp.dtype(STORAGE.get(self.precision, "float32"))
        self.compute_dtype = jnp.dtype(PRODUCT_DTYPE[self.precision])
        self.product_dtype = jnp.dtype("float32") if self.precision in MIXED \
            else self.compute_dtype
        self._matmul = self._mixed_matmul() if self.precision in MIXED else self._plain_matmul
        self._peak_floor = 0
        self._roof_checked: dict[tuple[Any, Any], str | None] = {}
        self.seed_all(self.seed)

    def _device(self) -> Any:
        jax = self.jax
        if self.device == "cpu":
            return jax.devices("cpu")[0]
        index = int(self.device.partition(":")[2] or 0)
        try:
            gpus = jax.devices("gpu")
        except RuntimeError as exc:
            raise Skip(f"jax {jax.__version__} has no GPU backend in this process "
                       f"({one_line(exc)})") from None
        if index >= len(gpus):
            raise Skip(f"no GPU {index} (jax sees {len(gpus)})")
        return gpus[index]

    # ---- what implementations use ----
    def seed_all(self, seed: int) -> None:
        # Placed (committed) on the case's device, as every array a step is given: a jitted
        # function called with an uncommitted argument, then with its committed result,
        # compiles twice.
        self.key = self.jax.device_put(self.jax.random.key(seed), self.dev)

    def next_key(self) -> Any:
        """A fresh subkey; the adapter keeps the rest of the stream."""
        self.key, sub = self.jax.random.split(self.key)
        return sub

    def put(self, x: Any, dtype: Any = None) -> Any:
        """A host array on the case's device, in `dtype` (default: the storage dtype)."""
        import numpy as np

        return self.jax.device_put(np.asarray(x, dtype=np.dtype(dtype or self.dtype)), self.dev)

    def matmul(self, a: Any, b: Any) -> Any:
        """a·b in this mode: operands in the compute dtype, the result in the product dtype
        (float32 in the mixed modes, whose backward products are reduced too)."""
        return self._matmul(a, b)

    def _plain_matmul(self, a: Any, b: Any) -> Any:
        cd = self.compute_dtype
        return self.jnp.matmul(a.astype(cd), b.astype(cd))

    def _mixed_matmul(self) -> Callable[[Any, Any], Any]:
        """As autocast: reduced operands and float32 results forward, and the backward
        products on the cotangent cast to the reduced dtype, not on float32 operands."""
        jax, jnp, cd, out = self.jax, self.jnp, self.compute_dtype, self.product_dtype
        rules: dict[tuple[Any, Any], Any] = {}

        def dot(a: Any, b: Any) -> Any:
            return jnp.matmul(a, b, preferred_element_type=out)

        def rule(da: Any, db: Any) -> Any:
            """The product for operands stored as (da, db): the backward casts to them."""
            @jax.custom_vjp
            def mixed(a: Any, b: Any) -> Any:
                return dot(a.astype(cd), b.astype(cd))

            def forward(a: Any, b: Any) -> tuple[Any, Any]:
                ac, bc = a.astype(cd), b.astype(cd)  # saved reduced, as autocast saves them
                return dot(ac, bc), (ac, bc)

            def backward(saved: Any, g: Any) -> tuple[Any, Any]:
                ac, bc = saved
                gc = g.astype(cd)
                return (dot(gc, jnp.swapaxes(bc, -1, -2)).astype(da),
                        dot(jnp.swapaxes(ac, -1, -2), gc).astype(db))

            mixed.defvjp(forward, backward)
            return mixed

        def matmul(a: Any, b: Any) -> Any:
            key = (a.dtype, b.dtype)
            if key not in rules:
                rules[key] = rule(*key)
            return rules[key](a, b)

        return matmul

    def sync(self) -> None:
        """Nothing to wait for here: JAX has no device-wide synchronise, so every step blocks
        on its own outputs (block_until_ready) and the roofs block on their last result."""

    def block(self, tree: Any) -> Any:
        """Wait until every array of `tree` is computed; returns it."""
        return self.jax.block_until_ready(tree)

    # ---- compile accounting ----
    def compiles(self) -> tuple[int, float]:
        """(XLA backend compilations, their seconds) in this process since the first adapter
        activated: persistent-cache hits are counted too (their retrieval time)."""
        count, seconds = _EVENTS[COMPILE_EVENTS["compile"]]
        return int(count), float(seconds)

    def compile_phases(self) -> dict[str, tuple[int, float]]:
        """Count and seconds of each phase of JAX's compilation: trace, lower, compile."""
        return {k: (int(_EVENTS[e][0]), float(_EVENTS[e][1])) for k, e in COMPILE_EVENTS.items()}

    # ---- memory ----
    def _stats(self) -> dict[str, Any] | None:
        if self.dev.platform == "cpu":
            return None
        return self.dev.memory_stats()

    def device_free_bytes(self) -> int | None:
        """What this process's allocator can still give on the case's GPU (None on the CPU)."""
        stats = self._stats()
        if not stats or "bytes_limit" not in stats:
            return None
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))

    def reset_peak_memory(self) -> None:
        # JAX's peak cannot be reset: remember it, and trust only a peak above it later.
        stats = self._stats()
        self._peak_floor = int(stats.get("peak_bytes_in_use", 0)) if stats else 0

    def peak_device_memory(self) -> tuple[int | None, str | None]:
        if self.dev.platform == "cpu":
            return super().peak_device_memory()
        stats = self._stats()
        if not stats or "peak_bytes_in_use" not in stats:
            return None, f"jax reports no memory peak for {self.dev}"
        peak = int(stats["peak_bytes_in_use"])
        if peak > self._peak_floor:
            return peak, None
        return None, (f"JAX's allocator peak cannot be reset and did not pass this process's "
                      f"earlier peak ({self._peak_floor} bytes) in this window")

    # ---- what ran ----
    def math_flags(self) -> dict[str, Any]:
        """Read back from JAX and from the process: x64, the matmul precision, the device,
        XLA's CPU pool size (as its backend started; else its threads counted by name, which
        in a worker are JAX's alone); dtypes as the adapter set them (what products ran in is
        `observed_products`)."""
        jax = self.jax
        counted, why = xla_cpu_threads()
        threads = pool_size()
        flags: dict[str, Any] = {
            "threads": threads,
            "xla_threads_counted": counted,
            "threads_requested": self.threads,
            "dtype": self.dtype.name,
            "compute_dtype": self.compute_dtype.name,
            "product_dtype": self.product_dtype.name,
            "default_matmul_precision": setting(jax, "jax_default_matmul_precision"),
            "x64": bool(setting(jax, "jax_enable_x64")),
            "backend": jax.default_backend(),
            "platform": self.dev.platform,
            "device": f"{self.dev.platform}:{self.dev.id} {self.dev.device_kind}",
            "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
            THREADS_ENV: os.environ.get(THREADS_ENV),
        }
        if why and threads is None:
            flags["threads_reason"] = why
        return flags

    def observe_products(self, impl: Any) -> Observation:
        """The products in XLA's optimised HLO of the functions `impl.probe_steps()` names."""
        from .jax_probe import observe

        steps = getattr(impl, "probe_steps", None)
        if steps is None:
            return Observation("none", reason=f"{type(impl).__name__} names no probe_steps() "
                               "for the jax adapter to compile")
        return observe(self.jax, steps())

    @classmethod
    def runtime_facts(cls, reasons: dict[str, str]) -> dict[str, Any] | None:
        from .jax_facts import jax_facts

        return jax_facts(reasons)

    # ---- roofs ----
    @cached_property
    def _product(self) -> Any:
        """The roof's product, jitted once per adapter (so once per shape)."""
        return self.jax.jit(self.matmul)

    @cached_property
    def _triad(self) -> Any:
        # a donated and kept as a parameter: XLA writes each pass into a's buffer, as STREAM
        # does, instead of a fresh allocation per pass.
        return self.jax.jit(lambda a, b, c: b + 3.0 * c, donate_argnums=0, keep_unused=True)

    def gemm_times(self, m: int, n: int, k: int, repeats: int, loops: int,
                   operands: Operands = "uniform") -> list[float]:
        a, b = (self.operand(shape, operands) for shape in ((m, k), (k, n)))
        # Cast once here: the roof is the product, not a cast per call.
        a, b = (x.astype(self.compute_dtype) for x in (a, b))
        product = self._product
        self.block(product(a, b))  # compiled here, never inside a timing
        self._check_roof_product(product, a, b)
        last: list[Any] = [None]

        def op() -> None:
            last[0] = product(a, b)

        return timed_repeats(op, lambda: last[0].block_until_ready(), repeats, loops)

    def _check_roof_product(self, product: Any, a: Any, b: Any) -> None:
        """A roof is the rate of this mode's products: where XLA compiles the GEMM into
        products of another dtype (the CPU backend computes fp16 dots in float32), timing it
        would put an fp32 rate under fp16's name, so there is no roof in this mode here."""
        from .jax_probe import observe
        from .products import contradiction

        key = (a.shape, b.shape)
        if key not in self._roof_checked:
            obs = observe(self.jax, [(product, (a, b))]).settle(self.precision)
            self._roof_checked[key] = contradiction(self.precision, obs, True)
        why = self._roof_checked[key]
        if why:
            raise Skip(f"no {self.precision} GEMM roof in jax here: its {why}")

    def operand(self, shape: tuple[int, int], operands: Operands) -> Any:
        """A roof GEMM's operand in the storage dtype: uniform on [0, 1), or 0/1 at even odds."""
        drawn = self.jax.random.uniform(self.next_key(), shape, self.dtype)
        return (drawn < 0.5).astype(self.dtype) if operands == "binary" else drawn

    def triad_times(self, n: int, repeats: int) -> tuple[list[float], int] | None:
        jnp = self.jnp
        a, b, c = (jnp.full((n,), v, jnp.float32, device=self.dev) for v in (0.0, 1.0, 2.0))
        triad = self._triad
        box = [triad(a, b, c)]
        box[0].block_until_ready()

        def op() -> None:
            box[0] = triad(box[0], b, c)

        # One fused pass: 2 reads and 1 write per element, STREAM's count.
        return timed_repeats(op, lambda: box[0].block_until_ready(), repeats, 1), 12 * n
