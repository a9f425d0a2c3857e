"""The environment fingerprint: ISA parsing, performance variables, frequency, steal, GPUs
through a fake NVML, kernel findings, and the worker's `runtime` answer in real processes.

Variables such as OPENBLAS_CORETYPE are only ever set in child environments, never here."""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from dbnbench.app.cli_env import render_env
from dbnbench.harness.probes.fingerprint import (
    cpu_frequency,
    cpu_isa,
    gpu_details,
    gpu_probe,
    hypervisor_and_steal,
    kernel_findings,
    perf_env,
)

from ..conftest import run_cli

SPR_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx "
    "fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc pni pclmulqdq ssse3 fma "
    "cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm abm bmi1 avx2 "
    "smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd "
    "sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 avx512vbmi umip "
    "pku ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg "
    "avx512_vpopcntdq la57 rdpid movdiri movdir64b fsrm serialize tsxldtrk amx_bf16 avx512_fp16 "
    "amx_tile amx_int8 arch_capabilities")
XEON_SPR = "".join(
    f"processor\t: {i}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
    f"model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: {SPR_FLAGS}\n\n" for i in range(2))
EPYC_VM = (  # this kind of VM: Zen 4 under a hypervisor, AVX-512 with bf16 but no fp16
    "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
    "model name\t: AMD EPYC 9654 96-Core Processor\n"
    "flags\t\t: fpu sse sse2 ht syscall nx lm pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 movbe "
    "popcnt aes xsave avx f16c rdrand hypervisor lahf_lm bmi1 avx2 bmi2 avx512f avx512dq adx "
    "avx512ifma avx512cd sha_ni avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vbmi2 gfni vaes "
    "avx512_vnni avx512_bitalg avx512_vpopcntdq\n\n")
I7_AVX2 = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 158\n"
    "model name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz\ncpu MHz\t\t: 800.024\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush "
    "mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc pni pclmulqdq "
    "ssse3 fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand "
    "lahf_lm abm 3dnowprefetch bmi1 hle avx2 smep bmi2 erms invpcid rtm mpx rdseed adx smap "
    "clflushopt intel_pt xsaveopt xsavec xgetbv1 xsaves\n\n")
GRAVITON3 = (
    "processor\t: 0\nBogoMIPS\t: 2100.00\n"
    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
    "jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs "
    "paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng\n"
    "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xd40\n"
    "CPU revision\t: 1\n\n")
GRAVITON2 = ("processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics "
             "fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\n"
             "CPU part\t: 0xd0c\n\n")


@pytest.mark.parametrize("text,model,level,bf16,fp16,has,lacks,hypervisor", [
    (XEON_SPR, "Intel(R) Xeon(R) Platinum 8480+", "avx512", True, True,
     ["amx_tile", "amx_bf16", "amx_int8", "avx512_fp16", "avx_vnni", "avx512f"], [], False),
    (EPYC_VM, "AMD EPYC 9654 96-Core Processor", "avx512", True, False,
     ["avx512_bf16", "avx512_vnni", "avx512vl"], ["amx_tile", "avx512_fp16"], True),
    (I7_AVX2, "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "avx2", False, False,
     ["avx2", "fma", "f16c", "sse4_2"], ["avx512f"], False),
])
def test_x86_isa_from_cpuinfo(text, model, level, bf16, fp16, has, lacks, hypervisor):
    isa = cpu_isa(text)
    assert (isa["arch"], isa["model"], isa["isa_level"]) == ("x86_64", model, level)
    assert (isa["bf16"], isa["fp16"], isa["hypervisor_flag"]) == (bf16, fp16, hypervisor)
    assert isa["flags"] == sorted(isa["flags"]) and set(has) <= set(isa["flags"])
    assert not set(lacks) & set(isa["flags"])
    assert "pse36" not in isa["flags"], "only the flags ML kernels use are kept"
    assert isa["source"] == "cpuinfo" and isa["reason"] is None


def test_aarch64_isa_from_cpuinfo():
    v1 = cpu_isa(GRAVITON3)
    assert (v1["arch"], v1["vendor"], v1["model"]) == ("aarch64", "ARM", "ARM Neoverse-V1")
    assert v1["isa_level"] == "sve" and v1["bf16"] and v1["fp16"]
    assert {"asimd", "sve", "bf16", "i8mm", "svebf16"} <= set(v1["flags"])
    n1 = cpu_isa(GRAVITON2)
    assert n1["isa_level"] == "neon" and not n1["bf16"] and n1["model"] == "ARM Neoverse-N1"


def test_isa_without_cpuinfo_says_why():
    isa = cpu_isa("")
    assert isa["source"] == "platform" and isa["isa_level"] is None and isa["flags"] == []
    assert "ISA flags not read" in isa["reason"]


def test_this_machines_isa_is_read():
    isa = cpu_isa()
    if isa["source"] != "cpuinfo":
        pytest.skip(f"no cpuinfo here: {isa['reason']}")
    assert isa["isa_level"] is not None and isa["model"]


def test_perf_env_keeps_only_what_changes_a_number():
    env = {"OPENBLAS_CORETYPE": "Haswell", "OMP_NUM_THREADS": "4", "KMP_AFFINITY": "compact",
           "MKL_ENABLE_INSTRUCTIONS": "AVX2", "TF_ENABLE_ONEDNN_OPTS": "0", "XLA_FLAGS": "--x",
           "CUDA_VISIBLE_DEVICES": "1", "NVIDIA_TF32_OVERRIDE": "0", "TORCH_SHOW_CPP": "1",
           "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "LD_PRELOAD": "libtc.so",
           "MALLOC_ARENA_MAX": "2", "NPY_DISABLE_CPU_FEATURES": "AVX512F",
           # not performance settings: left out
           "HOME": "/root", "PATH": "/bin", "PYTHONPATH": "/x", "TF_VAR_region": "eu",
           "TF_CLI_CONFIG_FILE": "/root/.terraformrc", "TF_TOKEN_app_example_com": "secret",
           "CUDA_API_TOKEN": "secret"}
    got = perf_env(env)
    assert list(got) == sorted(got)
    assert set(got) == {"OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "KMP_AFFINITY",
                        "MKL_ENABLE_INSTRUCTIONS", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS",
                        "CUDA_VISIBLE_DEVICES", "NVIDIA_TF32_OVERRIDE", "TORCH_SHOW_CPP",
                        "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "LD_PRELOAD",
                        "MALLOC_ARENA_MAX", "NPY_DISABLE_CPU_FEATURES"}
    assert got["OPENBLAS_CORETYPE"] == "Haswell"
    assert perf_env({}) == {}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def test_cpu_frequency_from_a_sysfs_tree(tmp_path):
    for cpu, governor, cur in ((0, "performance", 3000000), (1, "powersave", 2000000),
                               (2, "performance", 2500000)):
        d = tmp_path / f"cpu{cpu}" / "cpufreq"
        write(d / "scaling_governor", governor)
        write(d / "scaling_driver", "acpi-cpufreq")
        write(d / "scaling_min_freq", "1500000")
        write(d / "scaling_max_freq", "3700000")
        write(d / "scaling_cur_freq", str(cur))
    write(tmp_path / "cpufreq" / "boost", "1")
    f = cpu_frequency(str(tmp_path))
    assert f["governors"] == ["performance", "powersave"] and f["driver"] == "acpi-cpufreq"
    assert (f["min_mhz"], f["max_mhz"], f["current_mhz"]) == (1500, 3700, 2500)
    assert f["boost"] is True and f["no_turbo"] is None
    assert set(f["reasons"]) == {"no_turbo"} and "intel_pstate" in f["reasons"]["no_turbo"]


def test_cpu_frequency_without_cpufreq_gives_reasons_not_numbers(tmp_path):
    f = cpu_frequency(str(tmp_path))
    for key in ("governors", "driver", "min_mhz", "max_mhz", "current_mhz", "boost", "no_turbo"):
        assert f[key] is None and f["reasons"][key], key


def test_this_machines_frequency_never_invents():
    f = cpu_frequency()
    for key in ("governors", "driver", "min_mhz", "max_mhz", "current_mhz", "boost", "no_turbo"):
        assert (f[key] is None) == (key in f["reasons"]), key


def test_hypervisor_and_steal_here():
    h = hypervisor_and_steal(0.05, EPYC_VM)
    assert h["hypervisor"] is True and h["sample_s"] == 0.05
    if h["steal_share"] is None:
        assert h["reasons"]["steal_share"]
    else:
        assert 0.0 <= h["steal_share"] <= 1.0
    plain = hypervisor_and_steal(0.0, I7_AVX2)  # a cpuinfo without the hypervisor flag
    assert plain["hypervisor"] is (plain["hypervisor_type"] is not None)  # True only on Xen


class NotSupported(Exception):
    """Stands for pynvml.NVMLError_NotSupported."""


class FakeNVML:
    """Two GPUs; the application clocks are not supported; old pynvml throttle naming."""

    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU = 1, 2, 0

    def __init__(self) -> None:
        self.shutdown = False

    def nvmlInit(self): pass
    def nvmlShutdown(self): self.shutdown = True
    def nvmlDeviceGetCount(self): return 2
    def nvmlDeviceGetHandleByIndex(self, i): return f"h{i}"
    def nvmlDeviceGetName(self, h): return b"NVIDIA H100 80GB HBM3"
    def nvmlDeviceGetUUID(self, h): return f"GPU-{h}"
    def nvmlDeviceGetClockInfo(self, h, kind): return {1: 1980, 2: 2619}[kind]
    def nvmlDeviceGetMaxClockInfo(self, h, kind): return {1: 1980, 2: 2619}[kind]
    def nvmlDeviceGetApplicationsClock(self, h, kind): raise NotSupported("Not Supported")
    def nvmlDeviceGetPowerManagementLimit(self, h): return 700000
    def nvmlDeviceGetEnforcedPowerLimit(self, h): return 500000
    def nvmlDeviceGetPowerManagementDefaultLimit(self, h): return 700000
    def nvmlDeviceGetPowerUsage(self, h): return 71234
    def nvmlDeviceGetEccMode(self, h): return (1, 0)
    def nvmlDeviceGetPersistenceMode(self, h): return 1
    def nvmlDeviceGetComputeMode(self, h): return 3
    def nvmlDeviceGetTemperature(self, h, sensor): return 34
    def nvmlDeviceGetPerformanceState(self, h): return 0
    def nvmlDeviceGetCurrPcieLinkGeneration(self, h): return 4
    def nvmlDeviceGetCurrPcieLinkWidth(self, h): return 16
    def nvmlDeviceGetMaxPcieLinkGeneration(self, h): return 5
    def nvmlDeviceGetMaxPcieLinkWidth(self, h): return 16
    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h): return 0x1 | 0x4


def test_gpu_details_through_a_fake_nvml():
    nvml = FakeNVML()
    gpus = gpu_details(nvml)
    assert [g["index"] for g in gpus] == [0, 1] and nvml.shutdown
    g = gpus[1]
    assert g["name"] == "NVIDIA H100 80GB HBM3" and g["uuid"] == "GPU-h1"
    assert (g["sm_clock_mhz"], g["sm_clock_max_mhz"], g["mem_clock_mhz"]) == (1980, 1980, 2619)
    assert (g["power_limit_w"], g["power_limit_enforced_w"], g["power_draw_w"]) == \
        (700.0, 500.0, 71.234)
    assert (g["ecc_current"], g["ecc_pending"], g["persistence_mode"]) == (True, False, True)
    assert (g["compute_mode"], g["performance_state"], g["temperature_c"]) == \
        ("exclusive_process", "P0", 34)
    assert (g["pcie_gen"], g["pcie_width"], g["pcie_gen_max"]) == (4, 16, 5)
    assert g["clock_event_reasons"] == ["gpu_idle", "sw_power_cap"]
    # The call that raises: None for its fields, a reason naming the error, the rest intact.
    assert g["sm_clock_app_mhz"] is None and g["mem_clock_app_mhz"] is None
    assert set(g["reasons"]) == {"sm_clock_app_mhz", "mem_clock_app_mhz"}
    assert g["reasons"]["sm_clock_app_mhz"] == "NotSupported: Not Supported"


def test_gpu_probe_without_nvml_says_why():
    class NoDriver(FakeNVML):
        def nvmlInit(self): raise OSError("NVML Shared Library Not Found")

    gpus, reason = gpu_probe(NoDriver())
    assert gpus == [] and "NVML Shared Library Not Found" in reason
    assert gpu_details(NoDriver()) == []


def openblas_pool(arch: str, package: str = "numpy", path: str = "libscipy_openblas64_.so"):
    return {"user_api": "blas", "internal_api": "openblas", "prefix": "libscipy_openblas",
            "version": "0.3.31", "num_threads": 2, "architecture": arch,
            "threading_layer": "pthreads", "filepath": path, "package": package}


AVX512 = {"isa_level": "avx512"}


def test_haswell_pool_on_avx512_names_the_variable():
    runtime = {"numpy": {"pools": [openblas_pool("Haswell")], "env": {}}}
    [f] = kernel_findings(AVX512, runtime, {"OPENBLAS_CORETYPE": "Haswell"})
    assert f == {"kind": "downgraded-kernel", "severity": "warning", "framework": "numpy",
                 "library": "OpenBLAS 0.3.31 (libscipy_openblas64_.so)",
                 "message": "numpy's OpenBLAS runs its Haswell (AVX2) kernel on a CPU with "
                            "AVX-512: OPENBLAS_CORETYPE=Haswell forces it",
                 "variable": "OPENBLAS_CORETYPE"}
    # Set only in the worker's environment: still named.
    runtime["numpy"]["env"] = {"OPENBLAS_CORETYPE": "haswell"}
    [f] = kernel_findings(AVX512, runtime, {})
    assert f["variable"] == "OPENBLAS_CORETYPE" and "OPENBLAS_CORETYPE=haswell" in f["message"]


def test_no_finding_when_the_pool_matches_the_cpu():
    runtime = {"numpy": {"pools": [openblas_pool("SkylakeX")], "env": {}}}
    assert kernel_findings(AVX512, runtime, {}) == []
    haswell = {"numpy": {"pools": [openblas_pool("Haswell")], "env": {}}}
    assert kernel_findings({"isa_level": "avx2"}, haswell, {}) == []
    assert kernel_findings({"isa_level": None}, haswell, {}) == [], "unknown CPU: no claim"


def test_a_downgrade_nothing_forces_is_still_reported():
    runtime = {"sklearn": {"pools": [openblas_pool("Zen", "scipy", "libscipy_openblas.so")]}}
    [f] = kernel_findings(AVX512, runtime, {})
    assert f["variable"] is None and f["framework"] == "sklearn"
    assert f["message"].startswith("scipy's OpenBLAS runs its Zen (AVX2) kernel on a CPU "
                                   "with AVX-512 (no variable forces it")


def test_one_library_seen_by_several_workers_is_one_finding():
    pool = openblas_pool("Sandybridge")
    runtime = {fw: {"pools": [pool], "env": {}} for fw in ("torch", "numpy", "sklearn")}
    [f] = kernel_findings(AVX512, runtime, {})
    assert f["framework"] == "numpy" and "Sandybridge (AVX) kernel" in f["message"]


def test_torch_capability_and_isa_caps():
    runtime = {"torch": {"pools": [], "env": {}, "facts": {
        "cpu_capability": "AVX2", "mkldnn_enabled": True, "mkl_available": True}},
        "tensorflow": {"pools": [], "env": {}, "facts": {"onednn_enabled": False}}}
    env = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2_VNNI",
           "MKL_ENABLE_INSTRUCTIONS": "AVX512", "MKL_CBWR": "BRANCH=AVX,STRICT"}
    found = {(f["library"], f["variable"]): f for f in kernel_findings(AVX512, runtime, env)}
    assert set(found) == {("ATen CPU kernels (AVX2)", "ATEN_CPU_CAPABILITY"),
                          ("oneDNN", "ONEDNN_MAX_CPU_ISA"), ("MKL", "MKL_CBWR")}
    assert found[("ATen CPU kernels (AVX2)", "ATEN_CPU_CAPABILITY")]["message"] == (
        "torch's ATen runs its AVX2 kernels on a CPU with AVX-512: ATEN_CPU_CAPABILITY=avx2 "
        "forces it")
    assert all(f["framework"] == "torch" for f in found.values()), "TF has oneDNN off here"
    assert kernel_findings(AVX512, runtime, {"ONEDNN_MAX_CPU_ISA": "ALL"})[0]["variable"] \
        is None, "only the capability finding, forced by nothing"


def test_arm_pools():
    sve = {"isa_level": "sve"}
    runtime = {"numpy": {"pools": [openblas_pool("armv8")], "env": {}}}
    [f] = kernel_findings(sve, runtime, {})
    assert "armv8 (NEON) kernel on a CPU with SVE" in f["message"]
    runtime = {"numpy": {"pools": [openblas_pool("neoversen1")], "env": {}}}
    assert kernel_findings({"isa_level": "neon"}, runtime, {}) == []


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment without OPENBLAS_CORETYPE, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    return {**env, **extra}


def worker_answers(requests: list[dict], env: dict[str, str]) -> list[dict]:
    """Requests answered by a real `python -m dbnbench.harness.processes.worker` process."""
    proc = subprocess.run([sys.executable, "-m", "dbnbench.harness.processes.worker"], env=env,
                          input="".join(json.dumps(r) + "\n" for r in requests),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def numpy_openblas(runtime: dict) -> dict | None:
    return next((p for p in runtime["pools"] if p["internal_api"] == "openblas"
                 and p["package"] == "numpy"), None)


@pytest.mark.slow
def test_worker_runtime_sees_a_forced_openblas_kernel():
    """The key check: OPENBLAS_CORETYPE=Haswell in a worker's environment is what numpy's
    OpenBLAS runs, and on an AVX-512 CPU the finding names the variable; without it, no
    finding does."""
    plain, unknown = worker_answers([{"kind": "runtime", "framework": "numpy"},
                                     {"kind": "runtime", "framework": "mxnet"}], child_env())
    assert plain["status"] == "ok", plain
    assert unknown["status"] == "failed" and "mxnet" in unknown["reason"]
    if numpy_openblas(plain["runtime"]) is None:
        pytest.skip(f"numpy's BLAS here is not OpenBLAS: {plain['runtime']['pools']}")
    isa = cpu_isa()
    without = kernel_findings(isa, {"numpy": plain["runtime"]}, child_env())
    assert not [f for f in without if f["variable"] == "OPENBLAS_CORETYPE"], without
    if isa["isa_level"] not in ("avx2", "avx512"):
        pytest.skip(f"a Haswell kernel would not run on this CPU ({isa['isa_level']})")
    [forced] = worker_answers([{"kind": "runtime", "framework": "numpy"}],
                              child_env(OPENBLAS_CORETYPE="Haswell"))
    runtime = forced["runtime"]
    assert numpy_openblas(runtime)["architecture"] == "Haswell"
    assert runtime["env"]["OPENBLAS_CORETYPE"] == "Haswell"
    # The parent's environment lacks the variable: the worker's own record names it.
    findings = kernel_findings(isa, {"numpy": runtime}, {})
    named = [f for f in findings if f["variable"] == "OPENBLAS_CORETYPE"]
    if isa["isa_level"] == "avx512":
        assert named and named[0]["framework"] == "numpy", findings
        assert "Haswell (AVX2) kernel on a CPU with AVX-512" in named[0]["message"]
    else:
        assert not named, "Haswell is this CPU's own level"


def test_fingerprint_imports_no_ml_framework():
    code = ("import sys; from dbnbench.harness.probes.fingerprint import machine_fingerprint; "
            "machine_fingerprint(); "
            "print([m for m in ('numpy', 'torch', 'tensorflow', 'sklearn') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=child_env())
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def haswell_env() -> dict[str, str]:
    """A child environment with OPENBLAS_CORETYPE=Haswell where the CPU can run it."""
    extra = {"OPENBLAS_CORETYPE": "Haswell"} \
        if cpu_isa()["isa_level"] in ("avx2", "avx512") else {}
    return child_env(**extra)


@pytest.fixture(scope="module")
def env_json() -> dict:
    """`dbnbench env --json` with OPENBLAS_CORETYPE=Haswell (where the CPU can run it)."""
    proc = subprocess.run([sys.executable, "-m", "dbnbench", "env", "--json"], timeout=600,
                          capture_output=True, text=True, env=haswell_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_env_json_has_fingerprint_runtime_and_findings(env_json):
    assert {"hostname", "cpu", "gpus", "frameworks"} <= set(env_json), "machine() fields kept"
    fp = env_json["fingerprint"]
    assert {"isa", "perf_env", "frequency", "hypervisor", "gpus", "gpus_reason"} <= set(fp)
    numpy = env_json["runtime"]["numpy"]
    assert any(p["user_api"] == "blas" for p in numpy["pools"]), numpy["pools"]
    assert numpy["facts"]["version"] == env_json["frameworks"]["numpy"]
    if platform.libc_ver()[0] == "glibc":  # the worker fixed its heap (harness/probes/heap.py)
        assert numpy["heap"]["set"] and numpy["heap"]["mmap_threshold_bytes"] >= 1 << 20
    pool = numpy_openblas(numpy)
    if pool is not None and fp["isa"]["isa_level"] == "avx512":
        assert pool["architecture"] == "Haswell"
        assert fp["perf_env"]["OPENBLAS_CORETYPE"] == "Haswell"
        assert any(f["variable"] == "OPENBLAS_CORETYPE" and f["framework"] == "numpy"
                   for f in env_json["findings"]), env_json["findings"]


@pytest.mark.slow
def test_env_page_prints_library_text_literally(env_json):
    doc = json.loads(json.dumps(env_json))
    doc["fingerprint"]["perf_env"] = {"TORCH_LOGS": "[bold]+dynamo[/bold]"}
    doc["runtime"]["numpy"]["facts"]["version"] = "[torch] 9.9"
    doc["findings"] = [{"message": "a [red]bracketed[/red] finding"}]
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None)
    for part in render_env(doc):
        console.print(part)
    text = buffer.getvalue()
    assert "[torch] 9.9" in text and "[bold]+dynamo[/bold]" in text
    assert "finding: a [red]bracketed[/red] finding" in text
    assert max(map(len, text.splitlines())) <= 80


@pytest.mark.slow
def test_env_command_human_output(env_json):
    proc = run_cli("env", env=haswell_env())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= 80, "laid out for an 80-column terminal"
    for needle in ("isa", "performance environment variables", "governor", "steal",
                   "BLAS/OpenMP pools", "numpy (read back in its worker)", "heap"):
        assert needle in proc.stdout, needle
    # The page says what `env --json` finds in the same environment (lines wrap at 80).
    text = " ".join(proc.stdout.split())
    messages = [f"finding: {f['message']}" for f in env_json["findings"]] or [
        "findings: no library runs a kernel older than this CPU supports"]
    for message in messages:
        assert " ".join(message.split()) in text, message
    assert text.count("finding: ") == len(env_json["findings"])


def test_a_gpu_nvml_cannot_open_does_not_hide_the_others():
    class OneLost(FakeNVML):
        def nvmlDeviceGetHandleByIndex(self, i):
            if i == 1:
                raise RuntimeError("GPU is lost")
            return f"h{i}"

    first, lost = gpu_details(OneLost())
    assert first["name"] == "NVIDIA H100 80GB HBM3" and first["reasons"].keys() == {
        "sm_clock_app_mhz", "mem_clock_app_mhz"}
    assert lost["index"] == 1 and lost["name"] is None
    assert lost["reasons"] == {"handle": "RuntimeError: GPU is lost"}
