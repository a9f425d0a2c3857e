"""What the HTML report shows, computed from validated results: rows, headline, speedups,
the facets of each workload, what was not measured and why, skips and warnings grouped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..format.json_types import JSONObject
from ..format.results import ResultDoc
from ..format.view import CaseView, views
from . import format as fmt
from . import summaries


def machine_label(doc: ResultDoc, several: bool) -> str:
    """The host alone, or host and run when several files share a report."""
    return f"{doc['machine']['hostname']} · {doc['run_id']}" if several else \
        doc["machine"]["hostname"]


def obj(value: object) -> JSONObject:
    """A JSON value that should be an object, or an empty one."""
    return value if isinstance(value, dict) else {}


def duration(doc: ResultDoc) -> str:
    finished = doc.get("finished_at")
    if not finished:
        return "unfinished"
    parse = datetime.fromisoformat  # Python 3.11 reads the trailing Z
    seconds = (parse(finished) - parse(doc["started_at"])).total_seconds()
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def machine_summary(doc: ResultDoc, label: str) -> dict[str, Any]:
    m = doc["machine"]
    gpus = [f"{g['name']} ({fmt.bytes_(g['memory_bytes'])}, driver {g['driver']}, CUDA "
            f"{g['cuda']})" for g in m["gpus"]]
    cpu = m["cpu"]
    fp = obj(m.get("fingerprint"))
    isa = obj(fp.get("isa"))
    flags = isa.get("flags")
    load = obj(doc.get("start_load"))
    return {"label": label, "hostname": m["hostname"], "os": m["os"], "python": m["python"],
            "cpu": f"{cpu['model']} ({cpu['cores']} cores, {cpu['threads']} threads)",
            "isa": f"{isa.get('isa_level') or 'unknown'}: "
                   f"{' '.join(str(f) for f in flags) if isinstance(flags, list) else ''}"
            if isa else "not recorded",
            "env": " ".join(f"{k}={v}" for k, v in obj(fp.get("perf_env")).items())
            or ("none set" if fp else "not recorded"),
            "pools": pools(obj(m.get("runtime"))),
            "start_load": f"{start_share(load):.0%} of the CPU used by other processes"
            if load else "not recorded",
            "gpus": gpus or ["none"], "memory": fmt.bytes_(m["memory_bytes"]),
            "frameworks": {k: v or "not installed" for k, v in m["frameworks"].items()},
            "suite": doc["suite"], "run_id": doc["run_id"], "started_at": doc["started_at"],
            "duration": duration(doc), "threads": doc["settings"]["threads"],
            "complete": doc.get("complete", True)}


def start_share(load: JSONObject) -> float:
    """Other processes' CPU share before the run (older files kept it at the top level)."""
    share = obj(load.get("contention") or load).get("other_cpu_share")
    return float(share) if isinstance(share, (int, float)) else 0.0


def pools(runtime: JSONObject) -> list[str]:
    """Every BLAS/OpenMP pool the workers ran with: library, kernel, threads (deduplicated)."""
    out: dict[str, None] = {}
    for info in runtime.values():
        found = obj(info).get("pools")
        for p in map(obj, found if isinstance(found, list) else []):
            kernel = f" {p['architecture']}" if p.get("architecture") else ""
            out[f"{p.get('package') or p.get('prefix')}: {p.get('internal_api')}{kernel}, "
                f"{p.get('num_threads')} threads"] = None
    return list(out) or ["not recorded"]


def findings(docs: Sequence[ResultDoc]) -> list[dict[str, Any]]:
    """Each machine's findings, each once (two arms giving the same one: one, naming both)."""
    several = len(docs) > 1
    return [{"severity": f.severity, "kind": f.kind, "message": summaries.finding_text(f),
             "machine": machine_label(d, several)}
            for d in docs for f in summaries.findings(d)]


def rooflines(docs: Sequence[ResultDoc]) -> list[dict[str, Any]]:
    """The machine's roofs per device and precision, with each framework's own GEMM rate."""
    several = len(docs) > 1
    return [{**r, "machine": machine_label(d, several)} for d in docs for r in d.get("roofline", [])]



def case_row(case: CaseView, label: str) -> dict[str, Any]:
    """A case as the HTML report's templates and charts read it: the view's values and their
    text, on one machine's label."""
    rate, q, roof = case.rate, case.quality, case.roof
    raw_quality = q.raw if q else None
    return {"machine": label, "view": case, "id": case.id, "workload": case.workload,
            "framework": case.framework, "device": case.device, "kind": case.kind,
            "precision": case.precision, "shape": case.tag, "params": case.params,
            "status": case.status, "reason": case.reason,
            "items_per_s": rate.median if rate else None,
            "ci_low": rate.ci_low if rate else None, "ci_high": rate.ci_high if rate else None,
            "interval": fmt.interval(rate), "spread": fmt.spread(rate),
            "pct_of_peak": case.pct_of_peak, "cv": case.step_cv, "memory": case.memory_bytes,
            "energy_per_item_j": case.energy_per_item_j, "items_per_joule": case.items_per_joule,
            "avg_power_w": case.avg_power_w, "flops_per_s": case.flops_per_s,
            "unmeasured": case.unmeasured, "quality": raw_quality or {},
            "quality_text": fmt.quality(raw_quality), "quality_value": fmt.quality_value(raw_quality),
            "quality_bar": fmt.quality_bar(raw_quality), "quality_passed": q.passed if q else None,
            "latency": case.latency_ms, "compile": fmt.compiled(case.compile),
            "warnings": list(case.warnings), "math": case.math, "contended": case.contended,
            "other_cpu": case.other_cpu_share, "roof": dict(roof or {}), "bound": case.bound,
            "pct_of_roof": case.pct_of_roof,
            "intensity": roof["arithmetic_intensity"] if roof else None,
            "products": case.math.get("observed_products"), "arm": case.arm or None,
            "config": case.config, "label": case.config}


def all_rows(docs: Sequence[ResultDoc]) -> list[dict[str, Any]]:
    several = len(docs) > 1
    return [case_row(c, machine_label(d, several)) for d in docs for c in views(d)]


def ok_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["status"] == "ok" and r["items_per_s"]]


def headline(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per workload and machine: fastest configuration, GPU vs CPU, best precision at equal
    quality (the fastest mode whose quality passed its bar, against fp32 of the same setup)."""
    out = []
    for (machine, workload) in dict.fromkeys((r["machine"], r["workload"]) for r in rows):
        ok = [r for r in ok_rows(rows) if r["machine"] == machine and r["workload"] == workload]
        if not ok:
            continue
        best = max(ok, key=lambda r: r["items_per_s"])
        cpu = [r for r in ok if r["kind"] == "cpu"]
        gpu = [r for r in ok if r["kind"] == "gpu"]
        if cpu and gpu:
            g, c = max(gpu, key=lambda r: r["items_per_s"]), max(cpu, key=lambda r: r["items_per_s"])
            speedup = f"{g['items_per_s'] / c['items_per_s']:.1f}× ({g['config']} vs {c['config']})"
        else:
            speedup = "not measured: no " + ("GPU" if cpu else "CPU") + " case ran"
        out.append({"machine": machine, "workload": workload, "fastest": best,
                    "gpu_vs_cpu": speedup, "precision": best_precision(ok)})
    return out


def best_precision(ok: list[dict[str, Any]]) -> str:
    passing = [r for r in ok if r["quality_passed"] is True]
    if not passing:
        return "no mode passed its quality bar" if any(r["quality"] for r in ok) \
            else "quality not measured"
    best = max(passing, key=lambda r: r["items_per_s"])
    ref = next((r for r in ok if r["precision"] == "fp32" and r["framework"] == best["framework"]
                and r["device"] == best["device"] and r["shape"] == best["shape"]), None)
    vs = f", {best['items_per_s'] / ref['items_per_s']:.2f}× its fp32" if ref and ref is not best \
        else ""
    return f"{best['precision']} ({best['config']}, {best['quality_text']}{vs})"


def matches(row: dict[str, Any], baseline: str) -> bool:
    fw, device, precision = [*baseline.split("/"), "", "", ""][:3]
    return (row["framework"], row["kind"] if device in ("cpu", "gpu") else row["device"],
            row["precision"]) == (fw, device, precision)


def add_speedups(rows: list[dict[str, Any]], baseline: str) -> str | None:
    """Each measured row's items/s over the baseline configuration's on the same machine,
    workload and shape (and arm), as `speedup`; returns the baseline when any matched."""
    ok = ok_rows(rows)
    base = {(r["machine"], r["workload"], r["shape"], r["arm"]): r["items_per_s"]
            for r in ok if matches(r, baseline)}
    for r in rows:
        ref = base.get((r["machine"], r["workload"], r["shape"], r["arm"]))
        measured = r["status"] == "ok" and r["items_per_s"]
        r["speedup"] = r["items_per_s"] / ref if ref and measured else None
    return baseline if base else None


def swept_params(rows: list[dict[str, Any]], workload: str) -> list[str]:
    """Parameters that took more than one value among a workload's measured cases, in the
    spec's order; those that split a case over processes are the Scaling section's."""
    ok = [r for r in ok_rows(rows) if r["workload"] == workload]
    if not ok:
        return []
    layout = ok[0]["view"].layout
    keys = sorted({k for r in ok for k in r["params"]}, key=layout.order)
    return [k for k in keys
            if k not in layout.layout and len({repr(r["params"].get(k)) for r in ok}) > 1
            and all(isinstance(r["params"].get(k), (int, float)) for r in ok)]


def workloads(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["workload"] for r in rows))


def is_shape_param(value: object) -> bool:
    """Numbers and lists of numbers size a case; text and flags choose how it runs."""
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or (
        isinstance(value, list) and all(isinstance(v, (int, float)) for v in value))


def param_text(value: object) -> str:
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


def facets(rows: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    """A workload's measured rows by size (its numeric parameters), each facet titled by the
    sizes that differ between facets, each row labelled by what differs inside its facet:
    batch 1 and batch 1024 never share an axis."""
    ok = [r for r in ok_rows(rows) if r["workload"] == workload]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in ok:
        key = repr(sorted((k, v) for k, v in r["params"].items() if is_shape_param(v)))
        groups.setdefault(key, []).append(r)
    varying = [k for k in dict.fromkeys(k for r in ok for k in r["params"])
               if len({repr(r["params"].get(k)) for r in ok}) > 1
               and all(is_shape_param(r["params"].get(k)) for r in ok)]
    out = []
    for members in groups.values():
        first = members[0]["params"]
        title = " · ".join(f"{k} {param_text(first[k])}" for k in varying) or members[0]["shape"]
        label_rows(members)
        out.append({"title": title, "shape": members[0]["shape"], "rows": members,
                    "arms": list(dict.fromkeys(r["arm"] for r in members))})
    return out


def label_rows(members: list[dict[str, Any]]) -> None:
    """Each row's `label` inside its facet: framework, then only what varies (machine,
    device, precision, execution mode); the arm is the series, not the label."""
    def varies(get: Any) -> bool:
        return len({repr(get(r)) for r in members}) > 1

    texts = [k for k in dict.fromkeys(k for r in members for k, v in r["params"].items()
                                       if not is_shape_param(v))
             if varies(lambda r, k=k: r["params"].get(k))]
    for r in members:
        parts = [r["machine"]] if varies(lambda r: r["machine"]) else []
        parts.append(r["framework"])
        if varies(lambda r: r["device"]):
            parts.append(r["device"])
        parts.append(r["precision"])
        parts += [str(r["params"].get(k)) for k in texts]
        r["label"] = " ".join(parts)


def unmeasured(docs: Sequence[ResultDoc]) -> list[dict[str, Any]]:
    """Per machine, each metric that was not measured with its reason, once: "energy on all
    35 cases: no RAPL powercap interface on this machine" instead of once per row."""
    several = len(docs) > 1
    out = []
    for d in docs:
        ok = [c for c in d["cases"] if c["status"] == "ok"]
        reasons: dict[tuple[str, str], int] = {}
        for c in ok:
            for metric, why in (c["metrics"].get("unmeasured") or {}).items():
                reasons[(metric, why)] = reasons.get((metric, why), 0) + 1
        for (metric, why), n in reasons.items():
            out.append({"machine": machine_label(d, several), "metric": METRIC_NAMES.get(
                metric, metric), "reason": why, "cases": n, "of": len(ok)})
    return out


METRIC_NAMES = {"energy_j": "energy", "peak_device_memory_bytes": "device memory",
                "peak_host_memory_bytes": "host memory", "flops_per_s": "FLOP/s"}


def problems(docs: Sequence[ResultDoc]) -> dict[str, Any]:
    """Failures (each shown), skip reasons with their cases and warning kinds with their
    cases, grouped for collapsed sections."""
    several = len(docs) > 1
    failed, skipped, warned = [], [], []
    for d in docs:
        label = machine_label(d, several)
        prefix = f"{label}: " if several else ""
        failed += [{"case": prefix + summaries.case_name(c), "status": c["status"],
                    "reason": c["reason"] or "no reason recorded"}
                   for c in d["cases"] if c["status"] not in ("ok", "skipped")]
        for reason, n in summaries.skip_reasons(d["cases"]):
            skipped.append({"reason": prefix + reason, "count": n, "cases": [
                summaries.case_name(c) for c in d["cases"]
                if c["status"] == "skipped" and (c["reason"] or "no reason recorded") == reason]})
        texts = {summaries.case_name(c): c.get("warnings", []) for c in d["cases"]}
        for kind in summaries.warning_kinds(d):
            names = [name for _, name, _ in sorted(kind.cases, key=lambda c: -c[0])]
            warned.append({"kind": prefix + kind.label, "count": len(kind.cases),
                           "worst": kind.worst(3), "cases": [
                               (name, w) for name in dict.fromkeys(names) for w in texts[name]
                               if summaries.classify(w)[0] == kind.label]})
    return {"failed": failed, "skipped": skipped, "warnings": warned,
            "skipped_total": sum(s["count"] for s in skipped),
            "warnings_total": sum(w["count"] for w in warned)}


def counts(doc: ResultDoc) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in doc["cases"]:
        out[c["status"]] = out.get(c["status"], 0) + 1
    return out
