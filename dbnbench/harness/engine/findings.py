"""Findings: what a reader must not miss, drawn from a whole result document.

A finding is a sentence with its evidence, not a verdict on the code: a reduced precision
slower than fp32 for a workload or in its matrix products, a framework far below the
machine's roof, cases measured while the machine was busy, a library held to an older kernel
than the CPU supports, cases whose products ran in another dtype than their mode says."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import cast

from ...format.precisions import REDUCED
from ...format.results import CaseResult, Finding, ItemsPerS, ResultDoc, case_tag
from ..probes.kernels import kernel_findings

SLOWER = 0.95          # a reduced mode below this × fp32 (with separated intervals) is slower
GEMM_SLOW = 0.8        # a reduced mode's GEMM below this × fp32's
FP64_SLOW = 0.3        # native fp64 SIMD gives about 0.5× fp32
FAR_BELOW_ROOF = 0.5   # a framework's own GEMM under half the machine's best, same mode
FAR_BEHIND = 1 / 3     # a framework under a third of the best framework on the same case


def finding(kind: str, message: str, cases: list[str] | None = None,
            severity: str = "warning", framework: str | None = None, device: str | None = None,
            precision: str | None = None) -> Finding:
    out: Finding = {"kind": kind, "severity": severity, "message": message,
                    "cases": cases or []}
    if framework is not None:
        out["framework"] = framework
    if device is not None:
        out["device"] = device
    if precision is not None:
        out["precision"] = precision
    return out


def contended(case: CaseResult) -> bool:
    return bool(case["contention"] and case["contention"]["contended"])


def rate(case: CaseResult) -> ItemsPerS:
    """The items/s summary of a case ok_cases() kept."""
    summary = case["metrics"].get("items_per_s")
    assert summary is not None
    return summary


def ok_cases(doc: ResultDoc) -> list[CaseResult]:
    """Measured cases a speed comparison can stand on: not those timed on a busy machine
    (they are the subject of their own finding)."""
    return [c for c in doc["cases"] if c["status"] == "ok"
            and (summary := c["metrics"].get("items_per_s")) is not None
            and summary["median"] > 0 and not contended(c)]


def items(rate: float) -> str:
    """A rate as a reader reads it: '1,360', not '1.36e+03' (three digits under 100)."""
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"



def slower_precisions(doc: ResultDoc) -> list[Finding]:
    """A reduced mode slower than fp32 on the same workload, framework, device and shape,
    by more than both intervals allow."""
    fp32 = {(c["workload"], c["framework"], c["device"], case_tag(c)): c for c in ok_cases(doc)
            if c["precision"] == "fp32"}
    out = []
    for c in ok_cases(doc):
        base = fp32.get((c["workload"], c["framework"], c["device"], case_tag(c)))
        if c["precision"] not in REDUCED or base is None:
            continue
        mine, ref = rate(c), rate(base)
        ratio = mine["median"] / ref["median"]
        high, low = mine["ci_high"], ref["ci_low"]
        apart = high is None or low is None or high < low
        if ratio < SLOWER and apart:
            out.append(finding(
                "precision-slower",
                f"{c['framework']} {c['workload']} {case_tag(c)} on {c['device']}: {c['precision']} "
                f"runs at {ratio:.2f}× fp32 ({items(mine['median'])} vs {items(ref['median'])} "
                "items/s)",
                [c["id"], base["id"]]))
    return out


def slow_gemm_modes(doc: ResultDoc) -> list[Finding]:
    """A mode whose matrix products are slower than fp32's on the same framework and device
    (no native units, or a library that does not use them), or fp64 far under half of fp32."""
    peaks = {(c["framework"], c["device"], c["precision"]): r
             for c in doc["calibration"] if (r := c.get("gemm_flops_per_s"))}
    out = []
    for (fw, device, precision), gemm in sorted(peaks.items()):
        ref = peaks.get((fw, device, "fp32"))
        if not ref or precision == "fp32":
            continue
        ratio = gemm / ref
        if precision == "fp64" and ratio < FP64_SLOW:
            text = f"fp64 matrix products run at {ratio:.2f}× fp32 (native fp64 gives about 0.5×)"
        elif precision in REDUCED and ratio < GEMM_SLOW:
            text = (f"{precision} matrix products run {1 / ratio:.1f}× slower than fp32 (no "
                    "native support on this device, or the library does not use it)")
        else:
            continue
        out.append(finding("gemm-slower", f"{fw} on {device}: {text}", framework=fw,
                           device=device, precision=precision))
    return out


def below_roof(doc: ResultDoc) -> list[Finding]:
    """A framework whose own GEMM reaches under half of the machine's best in the same mode:
    its '% of peak' would otherwise compare it with itself."""
    out = []
    for roof in doc.get("roofline", []):
        best = roof.get("best_framework")
        for fw, rate in sorted((roof.get("frameworks") or {}).items()):
            if fw != best and rate < FAR_BELOW_ROOF * roof["gemm_flops_per_s"]:
                out.append(finding(
                    "below-roof",
                    f"{fw}'s {roof['precision']} GEMM on {roof['device']} reaches "
                    f"{rate / roof['gemm_flops_per_s']:.0%} of the machine's best ({best}, "
                    f"{roof['gemm_flops_per_s'] / 1e9:.3g} GFLOP/s)",
                    framework=fw, device=roof["device"], precision=roof["precision"]))
    return out


def far_behind(doc: ResultDoc) -> list[Finding]:
    """On the same workload, device, precision and shape, a framework under a third of the
    fastest framework's throughput."""
    groups: dict[tuple[str, ...], list[CaseResult]] = defaultdict(list)
    for c in ok_cases(doc):
        groups[(c["workload"], c["device"], c["precision"], case_tag(c))].append(c)
    out = []
    for (workload, device, precision, tag), cs in sorted(groups.items()):
        best = max(cs, key=lambda c: rate(c)["median"])
        top = rate(best)["median"]
        for c in cs:
            ratio = rate(c)["median"] / top
            if ratio < FAR_BEHIND:
                out.append(finding(
                    "far-behind",
                    f"{workload} {tag} {device} {precision}: {c['framework']} runs at "
                    f"{ratio:.2f}× {best['framework']}", [c["id"], best["id"]]))
    return out


def busy(doc: ResultDoc) -> list[Finding]:
    cases = [c for c in doc["cases"] if contended(c)]
    if not cases:
        return []
    worst = max(cases, key=lambda c: c["contention"]["other_cpu_share"] if c["contention"]
                else 0.0)
    share = worst["contention"]["other_cpu_share"] if worst["contention"] else 0.0
    return [finding("contended",
                    f"{len(cases)} case(s) were timed while other processes used the CPU (worst: "
                    f"{worst['id']}, {share:.0%} of the CPU "
                    "time); their numbers are not the machine's, and compare treats them as "
                    "inconclusive", [c["id"] for c in cases])]


def wrong_products(doc: ResultDoc) -> list[Finding]:
    cases = [c for c in doc["cases"] if c["status"] == "failed"
             and (c.get("reason") or "").startswith("observed products contradict")]
    return [finding("products-contradict-mode",
                    f"{c['id']}: {c['reason']}", [c["id"]], severity="error") for c in cases]


def kernel(doc: ResultDoc) -> list[Finding]:
    """Libraries held to an older kernel than the CPU supports, as the workers saw them
    (`machine.runtime`) against the CPU's ISA and the environment (`machine.fingerprint`)."""
    m = doc["machine"]
    fingerprint = m.get("fingerprint") or {}
    isa, env, runtime = fingerprint.get("isa"), fingerprint.get("perf_env"), m.get("runtime")
    if not isinstance(isa, dict) or not isinstance(runtime, dict):
        return []
    variables = {k: str(v) for k, v in env.items()} if isinstance(env, dict) else {}
    pools = {fw: info for fw, info in runtime.items() if isinstance(info, dict)}
    return [cast(Finding, {**f, "cases": []}) for f in kernel_findings(isa, pools, variables)]


def arm_doc(doc: ResultDoc, arm: str) -> ResultDoc:
    """One arm's cases and GEMM calibrations, as if it had run alone."""
    return cast(ResultDoc, {**doc, "cases": [c for c in doc["cases"] if c.get("arm") == arm],
                            "calibration": [c for c in doc["calibration"]
                                            if c.get("arm") == arm]})


def no_roof(doc: ResultDoc) -> list[Finding]:
    """A mode whose GEMM roof no round measured (the sweep failed or timed out): its cases
    have no % of peak, which the summary must say, not standard error alone."""
    out = []
    for c in doc["calibration"]:
        if c.get("gemm_flops_per_s"):
            continue
        fw, device, precision = c["framework"], c["device"], c["precision"]
        hit = [k["id"] for k in doc["cases"] if (k["framework"], k["device"], k["precision"])
               == (fw, device, precision) and k["status"] == "ok"
               and k.get("arm") == c.get("arm")]
        out.append(finding("no-roof", f"{fw} {device} {precision}: no round measured the GEMM "
                           f"roof ({str(c.get('reason') or 'no reason recorded')[:120]}); "
                           f"{len(hit)} case(s) have no % of peak", hit, framework=fw,
                           device=device, precision=precision))
    return out


def findings(doc: ResultDoc) -> list[Finding]:
    """Every finding; in a run with arms, the findings drawn from cases and calibrations are
    drawn within each arm (a framework is compared with the fastest in its own arm) and name
    it in `arm`. Roofs and libraries already carry the arm in their 'arm/framework' keys."""
    arms = [a for a in dict.fromkeys(c.get("arm") for c in doc["cases"]) if a]
    if not arms:
        return (wrong_products(doc) + no_roof(doc) + kernel(doc) + busy(doc)
                + slow_gemm_modes(doc) + below_roof(doc) + slower_precisions(doc)
                + far_behind(doc))
    each = {arm: arm_doc(doc, arm) for arm in arms}

    def per_arm(finder: Callable[[ResultDoc], list[Finding]]) -> list[Finding]:
        return [cast(Finding, {**f, "arm": arm}) for arm, d in each.items() for f in finder(d)]

    return (per_arm(wrong_products) + no_roof(doc) + kernel(doc) + busy(doc)
            + per_arm(slow_gemm_modes)
            + below_roof(doc) + per_arm(slower_precisions) + per_arm(far_behind))
