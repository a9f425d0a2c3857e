"""`dbnbench env`: the machine, its fingerprint, and what each framework's process runs.

`env_document` gathers it all (one worker per installed framework answers `runtime`);
`render_env` turns that document into rich renderables. Library and user text is always
wrapped in `Text`, so a string such as "[torch]" is printed, never read as markup.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..harness.frameworks import FRAMEWORKS
from ..harness.probes.fingerprint import isa_name, kernel_findings, machine_fingerprint
from ..harness.probes.system import machine, usable_cpus
from ..harness.processes.pool import IMPORT_ALLOWANCE_S, WorkerProcess
from ..harness.records import RuntimeAnswer, RuntimeRequest

WIDTH = 80  # the human output is laid out to be read in an 80-column terminal


def ask_runtime(name: str, threads: int) -> dict[str, Any]:
    """One fresh worker, with the thread settings a run gives it, answers `runtime`."""
    worker = WorkerProcess(threads)
    try:
        answer = worker.ask(RuntimeRequest(name), RuntimeAnswer, IMPORT_ALLOWANCE_S, None)
    finally:
        worker.close()
    if answer.status == "ok" and answer.runtime is not None:
        return answer.runtime
    return {"framework": name, "status": answer.status, "reason": answer.reason}


def framework_runtime(threads: int | None = None) -> dict[str, dict[str, Any]]:
    """Per framework: its worker's runtime_info, or {framework, status, reason}."""
    threads = threads or usable_cpus()
    out: dict[str, dict[str, Any]] = {}
    installed = [name for name, fw in FRAMEWORKS.items() if fw.installed()]
    # The workers import in parallel: TensorFlow alone takes seconds to load.
    with ThreadPoolExecutor(max(1, len(installed))) as pool:
        answers = pool.map(lambda name: ask_runtime(name, threads), installed)
        out.update(zip(installed, answers, strict=True))
    for name, fw in FRAMEWORKS.items():
        out.setdefault(name, {"framework": name, "status": "skipped",
                              "reason": f"not installed ({fw.install_hint})"})
    return {name: out[name] for name in FRAMEWORKS}


def env_document() -> dict[str, Any]:
    """machine() fields plus `fingerprint`, `runtime` (per framework) and `findings`."""
    doc = machine()
    doc["fingerprint"] = machine_fingerprint()
    doc["runtime"] = framework_runtime()
    doc["findings"] = kernel_findings(doc["fingerprint"]["isa"], doc["runtime"], os.environ)
    return doc


def kv_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=Text(title, style="bold"), show_header=False, title_justify="left",
                  expand=True)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold", ratio=1)
    for key, value in rows:
        table.add_row(Text(key), Text(value))
    return table


def unread(value: Any, reason: str | None) -> str:
    return str(value) if value is not None else f"unreadable: {reason or 'no reason given'}"


def cpu_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    isa, cpu = doc["fingerprint"]["isa"], doc["cpu"]
    rows = [("cpu", f"{cpu['model']} ({cpu['cores']} cores, {cpu['threads']} threads, "
                    f"{doc['usable_cpus']} usable)")]
    if isa["isa_level"] is None:
        rows.append(("isa", unread(None, isa["reason"])))
        return rows
    native = [name for name in ("bf16", "fp16") if isa[name]]
    rows.append(("isa", f"{isa_name(isa['isa_level'])} ({isa['arch']}); native "
                        f"{' and '.join(native) or 'neither bf16 nor fp16'} arithmetic"))
    rows.append(("flags", " ".join(isa["flags"]) or "none of those ML kernels use"))
    return rows


def frequency_rows(fp: dict[str, Any]) -> list[tuple[str, str]]:
    freq, hyp = fp["frequency"], fp["hypervisor"]
    why = freq["reasons"]
    governor = ", ".join(freq["governors"]) if freq["governors"] else None
    rows = [("governor", unread(governor, why.get("governors")))]
    if freq["driver"] is not None:
        rows.append(("frequency", f"{freq['driver']}: {freq['min_mhz']}–{freq['max_mhz']} MHz, "
                                  f"now {freq['current_mhz']} MHz; boost {freq['boost']}, "
                                  f"no_turbo {freq['no_turbo']}"))
    if freq["cpuinfo_mhz"] is not None:
        rows.append(("cpuinfo MHz", f"{freq['cpuinfo_mhz']:g} (as the kernel reports it; "
                                    "nominal in a VM)"))
    present = {True: "yes", False: "none detected", None: None}[hyp["hypervisor"]]
    kind = f" ({hyp['hypervisor_type']})" if hyp["hypervisor_type"] else ""
    rows.append(("hypervisor", unread(present, hyp["reasons"].get("hypervisor")) + kind))
    share = hyp["steal_share"]
    steal = None if share is None else f"{share * 100:.1f} % of CPU time over {hyp['sample_s']:g} s"
    rows.append(("steal", unread(steal, hyp["reasons"].get("steal_share"))))
    return rows


def machine_table(doc: dict[str, Any]) -> Table:
    rows = [("host", doc["hostname"]), ("os", doc["os"]), ("python", doc["python"]),
            *cpu_rows(doc), ("memory", f"{doc['memory_bytes'] / 2**30:.1f} GiB"),
            *frequency_rows(doc["fingerprint"])]
    reason = doc["fingerprint"]["gpus_reason"]
    for g in doc["gpus"] or [{"name": f"none found ({reason})" if reason else "none found"}]:
        extra = f" ({g['memory_bytes'] / 2**30:.0f} GiB, driver {g['driver']}, CUDA {g['cuda']})" \
            if "driver" in g else ""
        rows.append(("gpu", g["name"] + extra))
    for name, version in doc["frameworks"].items():
        rows.append((name, version or "not installed"))
    return kv_table("this machine", rows)


def env_table(variables: dict[str, str]) -> Table:
    rows = list(variables.items()) or [("(none set)", "")]
    return kv_table("performance environment variables", rows)


GPU_ROWS = (("SM clock MHz", ("sm_clock_mhz", "sm_clock_max_mhz", "sm_clock_app_mhz")),
            ("mem clock MHz", ("mem_clock_mhz", "mem_clock_max_mhz", "mem_clock_app_mhz")),
            ("power W", ("power_draw_w", "power_limit_w", "power_limit_enforced_w",
                         "power_limit_default_w")),
            ("ECC", ("ecc_current", "ecc_pending")),
            ("modes", ("persistence_mode", "compute_mode", "performance_state")),
            ("temperature C", ("temperature_c",)),
            ("PCIe", ("pcie_gen", "pcie_width", "pcie_gen_max", "pcie_width_max")),
            ("clock events", ("clock_event_reasons",)))


def gpu_tables(fp: dict[str, Any]) -> Iterator[RenderableType]:
    for gpu in fp["gpus"]:
        rows = [(label, ", ".join(f"{key}={gpu.get(key)}" for key in keys))
                for label, keys in GPU_ROWS]
        rows += [(f"({key})", reason) for key, reason in gpu["reasons"].items()]
        yield kv_table(f"GPU {gpu['index']}: {gpu.get('name')}", rows)


def flat(value: Any, reasons: dict[str, str], path: str = "") -> Iterator[tuple[str, str]]:
    """Nested facts as (dotted key, text) rows; a None shows the reason it is None."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from flat(inner, reasons, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        yield path, " ".join(map(str, value)) or "(none)"
    elif value is None:
        yield path, f"unavailable: {reasons[path]}" if path in reasons else "none"
    else:
        yield path, str(value)


def pool_table(pools: list[dict[str, Any]]) -> Table:
    table = Table(title=Text("BLAS/OpenMP pools", style="bold"), title_justify="left",
                  expand=True)
    for column in ("api", "library", "from", "version", "kernel", "threads"):
        table.add_column(column, overflow="fold")
    for p in pools:
        table.add_row(*(Text(str(v) if v is not None else "-") for v in (
            p["internal_api"], p["prefix"], p["package"], p["version"], p["architecture"],
            p["num_threads"])))
    return table


def heap_text(heap: dict[str, Any]) -> str:
    if heap.get("set"):
        return (f"malloc mmap threshold fixed at {heap['mmap_threshold_bytes'] >> 20} MiB, "
                f"trim at {heap['trim_threshold_bytes'] >> 20} MiB (glibc's dynamic ceiling)")
    return f"{heap.get('policy')}: {heap.get('reason')}"


def runtime_parts(name: str, info: dict[str, Any]) -> Iterator[RenderableType]:
    if "status" in info:
        yield kv_table(name, [("worker", f"{info['status']}: {info['reason']}")])
        return
    facts, reasons = info.get("facts"), info["reasons"]
    rows = list(flat(facts, reasons)) if facts is not None else [
        ("facts", f"unavailable: {reasons.get('facts')}")]
    # The worker's own variables: a run's workers get the same thread settings.
    rows.append(("worker env", " ".join(f"{k}={v}" for k, v in info["env"].items()) or "none"))
    if "heap" in info:  # absent from results written before the heap was fixed
        rows.append(("heap", heap_text(info["heap"])))
    yield kv_table(f"{name} (read back in its worker)", rows)
    if info["pools"] is None:
        yield Text(f"pools: unavailable: {reasons.get('pools')}")
    else:
        yield pool_table(info["pools"])


def findings_part(findings: list[dict[str, Any]]) -> Iterator[RenderableType]:
    if not findings:
        yield Text("findings: no library runs a kernel older than this CPU supports",
                   style="green")
    for f in findings:
        yield Text.assemble(("finding: ", "bold yellow"), (f["message"], "yellow"))


def render_env(doc: dict[str, Any]) -> list[RenderableType]:
    """The `dbnbench env` page, top to bottom."""
    fp = doc["fingerprint"]
    parts: list[RenderableType] = [machine_table(doc), env_table(fp["perf_env"]),
                                   *gpu_tables(fp)]
    for name, info in doc["runtime"].items():
        parts.extend(runtime_parts(name, info))
    parts.extend(findings_part(doc["findings"]))
    return parts
