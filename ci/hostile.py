#!/usr/bin/env python3
"""Feed hostile inputs to every command and count how each was handled.

Usage: python ci/hostile.py [--src DIR] [--jobs N] [--timeout S] [--only KIND] [--verbose]

Builds, in a temporary directory, a corpus of malformed or hostile suite files, result files,
output targets, history databases and command-line values, runs `python -m dbnbench` on each
(with `--src DIR`, the dbnbench found in DIR, e.g. an older checkout), and prints per command
how many were handled right. Right, for an input that must be refused: exit 2, one line on
stderr starting "dbnbench: error:", no traceback, the input unchanged and no output written.
For an output target, streaming into a FIFO or device (exit 0) is right too, as long as it is
still a FIFO or device afterwards. Exit status: 0 when every input was handled right."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "result-v2-ci.json"
FIXTURE_V1 = ROOT / "tests" / "fixtures" / "result-v1-ci.json"

HEAD = """name = "h"
[settings]
rounds = 1
repetitions = 2
min_time_s = 0.01
warmup_s = 0.01
timeout_s = 10
quality = false
[[cases]]
frameworks = ["numpy"]
"""
SUITE = HEAD + """workload = "harness-selftest"
params = { size = 8, mode = "ok", where = "step" }
"""
RBM = HEAD + """workload = "rbm-cdk"
params = { visible = 16, hidden = 16, batch = 8PARAM }
"""


def rbm(param: str = "") -> str:
    return RBM.replace("PARAM", f", {param}" if param else "")


def settings(line: str) -> str:
    key = line.split("=")[0].strip()
    kept = [ln for ln in SUITE.splitlines() if not ln.startswith(key + " ")]
    at = kept.index("[settings]") + 1
    return "\n".join([*kept[:at], line, *kept[at:]]) + "\n"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def suite_corpus() -> dict[str, str | bytes]:
    grid = ", ".join(f"{k} = {list(range(1, 11))}" for k in ("visible", "hidden", "batch"))
    grid6 = RBM.replace("visible = 16, hidden = 16, batch = 8PARAM",
                        grid + ", k = [1,2,3,4,5,6,7,8,9,10], lr = [0.1,0.2,0.3,0.4,0.5,0.6,"
                        "0.7,0.8,0.9,1.0], weight_decay = [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0]")
    return {
        "malformed": "name = 'x'\n[[cases]\n",
        "empty": "",
        "binary": bytes(range(256)) * 4,
        "latin1": "name = 'caf\xe9'\n".encode("latin-1"),
        "no-name": SUITE.replace('name = "h"\n', ""),
        "no-cases": SUITE.split("[[cases]]")[0],
        "cases-empty": 'name = "h"\ncases = []\n',
        "cases-table": 'name = "h"\n[cases]\nworkload = "rbm-cdk"\n',
        "name-slash": SUITE.replace('name = "h"', 'name = "../x"'),
        "name-empty": SUITE.replace('name = "h"', 'name = ""'),
        "name-200k": SUITE.replace('name = "h"', f'name = "{"n" * 200_000}"'),
        "description-number": SUITE.replace('name = "h"', 'name = "h"\ndescription = 5'),
        "extra-key": SUITE.replace('name = "h"', 'name = "h"\ncolour = "red"'),
        "settings-unknown": settings("speed = 3"),
        "settings-string": 'name = "h"\nsettings = "fast"\n' + SUITE.split("quality = false\n")[1],
        "min_time-nan": settings("min_time_s = nan"),
        "min_time-inf": settings("min_time_s = inf"),
        "min_time-negative": settings("min_time_s = -1.0"),
        "min_time-zero": settings("min_time_s = 0.0"),
        "timeout-inf": settings("timeout_s = inf"),
        "timeout-nan": settings("timeout_s = nan"),
        "timeout-minus-inf": settings("timeout_s = -inf"),
        "timeout-huge": settings("timeout_s = 1e300"),
        "warmup-nan": settings("warmup_s = nan"),
        "warmup-inf": settings("warmup_s = inf"),
        "rounds-zero": settings("rounds = 0"),
        "rounds-huge": settings("rounds = 1000000000"),
        "repetitions-2**63": settings(f"repetitions = {2**63 - 1}"),
        "seed-negative": settings("seed = -1"),
        "seed-float": settings("seed = nan"),
        "quality-string": settings('quality = "yes"'),
        "workload-unknown": SUITE.replace("harness-selftest", "no-such-workload"),
        "frameworks-empty": SUITE.replace('["numpy"]', "[]"),
        "frameworks-unknown": SUITE.replace('["numpy"]', '["mxnet"]'),
        "device-unknown": SUITE.replace('frameworks = ["numpy"]',
                                        'frameworks = ["numpy"]\ndevices = ["tpu"]'),
        "precision-unknown": SUITE.replace('frameworks = ["numpy"]',
                                           'frameworks = ["numpy"]\nprecisions = ["fp8"]'),
        "param-unknown": SUITE.replace("size = 8", "size = 8, colour = 1"),
        "param-string": SUITE.replace("size = 8", 'size = "big"'),
        "param-float-for-int": SUITE.replace("size = 8", "size = 1.5"),
        "param-bool-for-int": SUITE.replace("size = 8", "size = true"),
        "param-choice": SUITE.replace('mode = "ok"', 'mode = "explode"'),
        "param-over-max": SUITE.replace("size = 8", "size = 1000000"),
        "param-list-empty": SUITE.replace("size = 8", "size = []"),
        "param-nested-deep": SUITE.replace("size = 8", f"size = {nested(100_000)}"),
        "table-nested-deep": SUITE.replace("size = 8", "size = 8, x = " + "{a = " * 5000
                                           + "1" + "}" * 5000),
        "duplicate-case": SUITE + SUITE.split("quality = false\n")[1],
        "duplicate-key": SUITE.replace('name = "h"', 'name = "h"\nname = "i"'),
        "rbm-lr-nan": rbm("lr = nan"),
        "rbm-lr-inf": rbm("lr = inf"),
        "rbm-momentum-nan": rbm("momentum = nan"),
        "rbm-weight_decay-minus-inf": rbm("weight_decay = -inf"),
        "rbm-visible-2**63": rbm().replace("visible = 16", f"visible = {2**63 - 1}")
        ,
        "rbm-batch-2**40": rbm().replace("batch = 8", f"batch = {2**40}"),
        "rbm-hidden-zero": rbm().replace("hidden = 16", "hidden = 0"),
        "rbm-hidden-empty": rbm().replace("hidden = 16", "hidden = []"),
        "rbm-k-huge": rbm("k = 100000"),
        "grid-10**6": grid6,
        "grid-10001": rbm().replace("hidden = 16", f"hidden = {list(range(1, 10002))}")
        ,
        "dbn-layers-empty": rbm().replace("rbm-cdk", "dbn-pretrain")
        .replace("visible = 16, hidden = 16, batch = 8", "layers = [], batch = 8"),
        "dbn-layers-huge": rbm().replace("rbm-cdk", "dbn-pretrain")
        .replace("visible = 16, hidden = 16, batch = 8", f"layers = [16, {2**60}], batch = 8"),
        "augment-batch-huge": rbm().replace("rbm-cdk", "augment")
        .replace("visible = 16, hidden = 16, batch = 8", f"batch = {2**50}"),
    }


def mutate(doc: dict, fn: Callable[[dict], None]) -> dict:
    out = json.loads(json.dumps(doc))
    fn(out)
    return out


def ok_case(doc: dict) -> dict:
    return next(c for c in doc["cases"] if c["status"] == "ok")


def setter(path: str, value: object) -> Callable[[dict], None]:
    """`path` like 'case.metrics.items_per_s.median' (case = the first ok case)."""
    def fn(doc: dict) -> None:
        parts = path.split(".")
        node: object = ok_case(doc) if parts[0] == "case" else doc
        for p in parts[1:-1] if parts[0] == "case" else parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]  # type: ignore[index]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value  # type: ignore[index]
    return fn


def result_corpus() -> dict[str, str | bytes]:
    good = json.loads(FIXTURE.read_text())
    v1 = json.loads(FIXTURE_V1.read_text())
    nan, inf = math.nan, math.inf

    def doc(fn: Callable[[dict], None], base: dict = good) -> str:
        return json.dumps(mutate(base, fn))

    def times10(d: dict) -> None:
        rate = ok_case(d)["metrics"]["items_per_s"]
        for k in ("median", "ci_low", "ci_high"):
            rate[k] *= 10

    def dup(d: dict) -> None:
        d["cases"].append(json.loads(json.dumps(ok_case(d))))

    def no_reps(d: dict) -> None:
        c = ok_case(d)
        c["repetitions_s"], c["steps_per_repetition"] = [], []
        c.pop("repetition_rounds", None)

    text = json.dumps(good)
    return {
        "truncated": text[: len(text) // 2],
        "not-json": "this is not json",
        "empty": "",
        "binary": bytes(range(256)) * 8,
        "top-list": "[1, 2]",
        "foreign": json.dumps({"benchmarks": [], "machine_info": {}}),
        "schema-99": doc(setter("schema_version", 99)),
        "schema-string": doc(setter("schema_version", "2")),
        "no-cases": doc(lambda d: d.pop("cases")),
        "deep-top": "[" * 100_000 + "]" * 100_000,
        "deep-params": doc(setter("case.params.deep", "DEEP")).replace(
            '"DEEP"', '{"a": ' * 100_000 + "1" + "}" * 100_000),
        "deep-extra": doc(setter("case.metrics.extra", "DEEP")).replace(
            '"DEEP"', "[" * 50_000 + "]" * 50_000),
        "reps-nan": doc(setter("case.repetitions_s.0", nan)),
        "reps-inf": doc(setter("case.repetitions_s.0", inf)),
        "reps-1e-320": doc(setter("case.repetitions_s.0", 1e-320)),
        "reps-zero": doc(setter("case.repetitions_s.0", 0.0)),
        "reps-negative": doc(setter("case.repetitions_s.0", -0.02)),
        "rate-nan": doc(setter("case.metrics.items_per_s.median", nan)),
        "rate-minus-inf": doc(setter("case.metrics.items_per_s.median", -inf)),
        "rate-1e400": doc(setter("case.metrics.items_per_s.median", "BIG")).replace(
            '"BIG"', "1e400"),
        "rate-times-10": doc(times10),
        "ci-reversed": doc(lambda d: ok_case(d)["metrics"]["items_per_s"].update(
            ci_low=2e9, ci_high=1.0)),
        "steps-10**400": doc(setter("case.steps_per_repetition.0", "BIG")).replace(
            '"BIG"', "1" + "0" * 400),
        "steps-zero": doc(setter("case.steps_per_repetition.0", 0)),
        "steps-negative": doc(setter("case.steps_per_repetition.0", -327)),
        "steps-short": doc(lambda d: ok_case(d)["steps_per_repetition"].pop()),
        "memory-10**400": doc(setter("machine.memory_bytes", "BIG")).replace(
            '"BIG"', "1" + "0" * 400),
        "memory-negative": doc(setter("machine.memory_bytes", -1)),
        "started-garbage": doc(setter("started_at", "yesterday")),
        "started-impossible": doc(setter("started_at", "2026-13-45T99:00:00Z")),
        "finished-garbage": doc(setter("finished_at", "soon")),
        "duplicate-ids": doc(dup),
        "items_per_step-nan": doc(setter("case.items_per_step", nan)),
        "items_per_step-negative": doc(setter("case.items_per_step", -32)),
        "items_per_step-zero": doc(setter("case.items_per_step", 0)),
        "host-memory-negative": doc(setter("case.metrics.peak_host_memory_bytes", -5)),
        "setup-negative": doc(setter("case.setup_s", -1.0)),
        "gemm-negative": doc(setter("calibration.0.gemm_flops_per_s", -1e9)),
        "gemm-nan-by-round": doc(setter("calibration.0.by_round.0", nan)),
        "roof-negative": doc(setter("roofline.0.gemm_flops_per_s", -1e9)),
        "energy-negative": doc(setter("case.metrics.energy_j", -3.0)),
        "pct-nan": doc(setter("case.metrics.pct_of_peak", nan)),
        "pct-469": doc(setter("case.metrics.pct_of_peak", 4.69)),
        "step-median-negative": doc(setter("case.metrics.step_s.median", -1e-4)),
        "ok-without-repetitions": doc(no_reps),
        "status-unknown": doc(setter("case.status", "exploded")),
        "cpu-cores-negative": doc(setter("machine.cpu.cores", -2)),
        "v1-nan": doc(lambda d: d["cases"][0]["repetitions_s"].__setitem__(0, nan), v1),
        "v1-duplicate-ids": doc(lambda d: d["cases"].append(d["cases"][0]), v1),
    }


def garbage_db(path: Path) -> None:
    path.write_bytes(b"this is not a database" * 100)


def foreign_db(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER, name TEXT)")
        conn.execute("INSERT INTO runs VALUES (1, 'theirs')")


def db_corpus() -> dict[str, Callable[[Path], None]]:
    return {"garbage": garbage_db, "foreign-runs-table": foreign_db,
            "directory": lambda p: p.mkdir()}


@dataclass
class Outcome:
    category: str
    command: str
    name: str
    verdict: str  # right | traceback | accepted | timeout | wrong
    detail: str = ""


@dataclass
class Call:
    category: str
    command: str
    name: str
    args: list[str]
    cwd: Path
    check: Callable[[], str | None] = lambda: None  # what else must hold; why not, or None
    stream_ok: bool = False  # exit 0 is right too (an output streamed into a FIFO or device)
    env: dict[str, str] = field(default_factory=dict)
    output: Callable[[str], str | None] | None = None  # judges stdout + stderr; why not, or None


def classify(call: Call, proc: subprocess.CompletedProcess[str] | None) -> Outcome:
    out = Outcome(call.category, call.command, call.name, "right")
    if proc is None:
        out.verdict, out.detail = "timeout", "no answer before the timeout"
        return out
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if "Traceback" in proc.stderr + proc.stdout:
        out.verdict = "traceback"
        out.detail = lines[-1][:160] if lines else ""
    elif proc.returncode == 0 and not call.stream_ok:
        out.verdict, out.detail = "accepted", "exit 0"
    elif proc.returncode == 0:
        pass
    elif proc.returncode != 2 or len(lines) != 1 or not lines[0].startswith("dbnbench: error:"):
        out.verdict = "wrong"
        out.detail = f"exit {proc.returncode}: " + " | ".join(lines[-2:])[:160]
    if out.verdict == "right" and call.output is not None:
        why = call.output(proc.stdout + proc.stderr)
        if why:
            out.verdict, out.detail = "wrong", why
    if out.verdict == "right" or out.verdict == "accepted":
        why = call.check()
        if why:
            out.verdict, out.detail = "wrong", why
    if out.verdict == "right" and proc.returncode == 2:
        out.detail = lines[0][:160]
    return out


def unchanged(path: Path) -> Callable[[], str | None]:
    before = path.read_bytes() if path.is_file() else None

    def check() -> str | None:
        if before is not None and path.read_bytes() != before:
            return f"{path.name} was modified"
        return None
    return check


def absent(*paths: Path) -> Callable[[], str | None]:
    def check() -> str | None:
        made = [p.name for p in paths if p.exists() and (not p.is_dir() or any(p.iterdir()))]
        return f"wrote {', '.join(made)}" if made else None
    return check


def both(*checks: Callable[[], str | None]) -> Callable[[], str | None]:
    return lambda: next((w for c in checks if (w := c()) is not None), None)


def suite_calls(root: Path) -> list[Call]:
    calls = []
    for name, text in suite_corpus().items():
        d = root / "suites" / name
        d.mkdir(parents=True)
        path = d / "suite.toml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        out, db = d / "out", d / "history.sqlite"
        for command, args in (("list", ["list", "--suite", str(path)]),
                              ("run", ["run", "--suite", str(path), "-o", str(out), "--no-html",
                                       "--db", str(db)])):
            calls.append(Call("suite file", command, name, args, d,
                              both(unchanged(path), absent(out, db))))
    # 100 000 characters: a longer argument is refused by the kernel (MAX_ARG_STRLEN, 128 KiB)
    # before dbnbench could see it.
    long_path = root / "suites" / ("p" * 100_000 + ".toml")
    for command in ("list", "run"):
        calls.append(Call("suite file", command, "path-100k", [command, "--suite", str(long_path)],
                          root))
    return calls


def result_calls(root: Path) -> list[Call]:
    good = root / "good.json"
    shutil.copy(FIXTURE, good)
    calls = []
    for name, text in result_corpus().items():
        d = root / "results" / name
        d.mkdir(parents=True)
        path = d / f"{name}.json"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        html, js, md, site, db = (d / "r.html", d / "c.json", d / "c.md", d / "site",
                                  d / "h.sqlite")
        same = unchanged(path)
        alone = d / "pub"  # publish reads a whole directory: this file alone in one
        alone.mkdir()
        shutil.copy(path, alone / path.name)
        for command, args, outputs in (
                ("report", ["report", str(path)], []),
                ("report -o", ["report", str(path), "-o", str(html)], [html]),
                ("compare (baseline)", ["compare", str(path), str(good)], []),
                ("compare (candidate) --json", ["compare", str(good), str(path), "--json", str(js),
                                                "--markdown", str(md)], [js, md]),
                ("publish", ["publish", str(alone), "-o", str(site)], [site]),
                ("export", ["export", str(path), "-o", str(d / "e.json")], [d / "e.json"]),
                ("history --import", ["history", "--db", str(db), "--import", str(path)], [db])):
            calls.append(Call("result file", command, name, args, d, both(same, absent(*outputs))))
    return calls


def output_targets(d: Path) -> dict[str, tuple[Path, Callable[[], str | None], bool]]:
    """name → (target, what must still hold, whether streaming into it is right)."""
    real = d / "real.txt"
    real.write_text("precious")
    link = d / "link"
    link.symlink_to(real)
    dangling = d / "dangling"
    dangling.symlink_to(d / "nowhere" / "x")
    fifo = d / "fifo"
    os.mkfifo(fifo)
    folder = d / "folder"
    folder.mkdir()

    def still(p: Path, test: Callable[[int], bool], what: str) -> Callable[[], str | None]:
        return lambda: None if test(os.lstat(p).st_mode) else f"{p.name} is no longer {what}"

    targets = {
        "symlink": (link, both(still(link, stat.S_ISLNK, "a symlink"), unchanged(real)), False),
        "dangling-symlink": (dangling, still(dangling, stat.S_ISLNK, "a symlink"), False),
        "fifo-no-reader": (fifo, still(fifo, stat.S_ISFIFO, "a FIFO"), False),
        "directory": (folder, lambda: None if not any(folder.iterdir()) else "wrote into it", False),
        "no-parent": (d / "missing" / "out", absent(d / "missing"), False),
        "proc": (Path(f"/proc/dbnbench-hostile-{os.getpid()}"), lambda: None, False),
    }
    for name, minor in (("null-device", 3), ("full-device", 7)):
        node = d / name
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        except OSError:
            continue
        targets[name] = (node, still(node, stat.S_ISCHR, "a device"), minor == 3)
    return targets


def output_calls(root: Path) -> list[Call]:
    good = root / "good.json"
    calls = []
    commands: dict[str, Callable[[Path], list[str]]] = {
        "report -o": lambda t: ["report", str(good), "-o", str(t)],
        "export -o": lambda t: ["export", str(good), "-o", str(t)],
        "compare --json": lambda t: ["compare", str(good), str(good), "--json", str(t)],
        "compare --markdown": lambda t: ["compare", str(good), str(good), "--markdown", str(t)],
        "publish -o": lambda t: ["publish", str(root / "pubsrc"), "-o", str(t)],
    }
    (root / "pubsrc").mkdir()
    shutil.copy(FIXTURE, root / "pubsrc" / "good.json")
    for command, argv in commands.items():
        d = root / "outputs" / command.replace(" ", "_").replace("-", "")
        d.mkdir(parents=True)
        for name, (target, check, stream_ok) in output_targets(d).items():
            if command == "publish -o" and name in ("directory", "no-parent"):
                continue  # a directory is what publish writes into, made with its parents
            calls.append(Call("output target", command, name, argv(target), d, check,
                              stream_ok=stream_ok))
    return calls


def db_calls(root: Path) -> list[Call]:
    good = root / "good.json"
    suite = root / "tiny.toml"
    suite.write_text(SUITE)
    calls = []
    for name, make in db_corpus().items():
        d = root / "dbs" / name
        d.mkdir(parents=True)
        db = d / "history.sqlite"
        make(db)
        snapshot = unchanged(db)
        for command, args in (("history", ["history", "--db", str(db)]),
                              ("history --import", ["history", "--db", str(db), "--import",
                                                    str(good)]),
                              ("run --db", ["run", "--suite", str(suite), "-o", str(d / "out"),
                                            "--no-html", "--db", str(db)])):
            calls.append(Call("history database", command, name, args, d,
                              both(snapshot, absent(d / "out"))))
    return calls


def option_calls(root: Path) -> list[Call]:
    suite = root / "tiny.toml"
    suite.write_text(SUITE)
    values = {"--timeout": ["nan", "inf", "-inf", "1e400"], "--min-time": ["nan", "inf"],
              "--max-memory": ["1e400GiB", "99999999999999999999999TiB", "0", "nan"],
              "--seed": [str(10**30), "-1"], "--threads": [str(10**9)],
              "--repetitions": [str(2**63)], "--rounds": [str(10**9)]}
    calls = []
    for option, vals in values.items():
        for value in vals:
            d = root / "options" / f"{option.strip('-')}-{value[:12]}"
            d.mkdir(parents=True)
            calls.append(Call("run option", option, value,
                              ["run", "--suite", str(suite), "-o", str(d / "out"), "--no-html",
                               "--db", str(d / "h.sqlite"), option, value], d,
                              absent(d / "out")))
    return calls


def export_option_calls(root: Path) -> list[Call]:
    """`export`'s own options: unknown or empty metrics, a direction for a format without
    one, commits that are empty, too long or carry controls."""
    good = root / "export-good.json"
    shutil.copy(FIXTURE, good)
    values = [("bencher", "--metric", "speed"), ("bencher", "--metric", ","),
              ("openmetrics", "--metric", "throughput,\x1b[2J"),
              ("pytest-benchmark", "--metric", "throughput"),
              ("bencher", "--direction", "smaller"),
              ("openmetrics", "--commit", ""), ("openmetrics", "--commit", "a" * 500),
              ("google-benchmark", "--commit", "abc\x1b[31m"),
              ("github-action-benchmark", "--commit", "abc\ndef")]
    calls = []
    for i, (fmt, option, value) in enumerate(values):
        d = root / "export-options" / str(i)
        d.mkdir(parents=True)
        calls.append(Call("export option", f"export {option}", f"{fmt} {value!r}"[:40],
                          ["export", str(good), "--format", fmt, "-o", str(d / "out"), option,
                           value], d, absent(d / "out")))
    return calls


RAW_CONTROLS = ("\x1b", "\x00", "\u202e", "\x9b", "\x07")


def shown(text: str) -> str | None:
    """Output that carries a result file's control characters only written out."""
    raw = [repr(c) for c in RAW_CONTROLS if c in text]
    return f"printed raw {', '.join(raw)}" if raw else None


def printed(text: str) -> str | None:
    return None if "rbm-cdk" in text else "printed no table"


def second_pass_calls(root: Path) -> list[Call]:
    """Issue 18's families: FIFOs and devices as inputs, control characters in a result's
    strings, a key twice, two runs under one id, outputs that cannot encode, COLUMNS values,
    resume ids."""
    d = root / "second"
    d.mkdir()
    good = json.loads(FIXTURE.read_text())
    fifo = d / "fifo.json"
    os.mkfifo(fifo)
    zero_link = d / "zero.json"
    zero_link.symlink_to("/dev/zero")
    folder = d / "dir.json"
    folder.mkdir()
    evil = json.loads(json.dumps(good))
    evil["cases"][0]["id"] += "\x1b[2J\u202eevil\x00"
    evil["cases"][0]["warnings"].append("slow\x1b[31m red\x07")
    evil["machine"]["cpu"]["model"] = "EPYC\x1b]8;;http://example.invalid\x07link\x1b]8;;\x07"
    evil_path = d / "evil.json"
    evil_path.write_text(json.dumps(evil))
    twin = json.loads(json.dumps(good))
    twin["machine"]["hostname"] = "twin-host"
    twin_path = d / "twin.json"
    twin_path.write_text(json.dumps(twin))
    dup = d / "dup.json"
    text = FIXTURE.read_text()
    dup.write_text(text.replace('"status": "ok"', '"status": "failed", "status": "ok"', 1))
    both_dir = d / "both"
    both_dir.mkdir()
    shutil.copy(FIXTURE, both_dir / "a.json")
    shutil.copy(twin_path, both_dir / "b.json")
    g = str(root / "good.json")
    calls = []
    for name, path in (("FIFO", fifo), ("/dev/zero", Path("/dev/zero")),
                       ("link to /dev/zero", zero_link), ("directory", folder)):
        for command, args in (("report", ["report", str(path)]),
                              ("compare", ["compare", g, str(path)]),
                              ("history --import", ["history", "--import", str(path), "--db",
                                                    str(d / f"h-{len(calls)}.sqlite")])):
            calls.append(Call("reader", command, name, args, d))
    for command, args in (("report", ["report", str(evil_path), "--verbose"]),
                          ("compare", ["compare", g, str(evil_path), "--markdown", "-"]),
                          ("report -o -", ["report", str(evil_path), "-o", "-"])):
        calls.append(Call("control chars", command, "ESC, NUL, U+202E, BEL", args, d,
                          stream_ok=True, output=shown))
    calls.append(Call("duplicate key", "report", '"status" twice', ["report", str(dup)], d))
    calls.append(Call("twin run id", "history --import", "same id, other host",
                      ["history", "--import", g, str(twin_path), "--db", str(d / "tw.sqlite")],
                      d))
    calls.append(Call("twin run id", "publish", "same id, other host",
                      ["publish", str(both_dir), "-o", str(d / "site")], d, absent(d / "site")))
    for enc in ("ascii", "latin-1"):
        for command, args in (("report", ["report", g]), ("compare", ["compare", g, g]),
                              ("history", ["history", "--db", str(d / f"e-{enc}.sqlite")])):
            calls.append(Call("encoding", command, enc, args, d, stream_ok=True,
                              env={"PYTHONIOENCODING": enc}))
    for columns in ("0", "7", "-3", "100000000"):
        calls.append(Call("COLUMNS", "report", columns, ["report", g], d, stream_ok=True,
                          env={"COLUMNS": columns}, output=printed))
    for name, extra in (("empty", [""]), ("300 characters", ["x" * 300]),
                        ("a path", ["../../etc/passwd"]),
                        ("with --suite", ["r-1", "--suite", "quick"])):
        out = d / f"resume-{len(calls)}"
        calls.append(Call("resume id", "run --resume", name,
                          ["run", "--resume", *extra, "-o", str(out), "--no-html"], d,
                          absent(out)))
    return calls


def execute(call: Call, python: str, env: dict[str, str], timeout: float) -> Outcome:
    env = {**env, **call.env}
    try:
        proc = subprocess.run([python, "-m", "dbnbench", *call.args], cwd=call.cwd, env=env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:
        return classify(call, None)
    except OSError as exc:  # e.g. an argument list too long for the kernel
        return Outcome(call.category, call.command, call.name, "wrong", f"could not start: {exc}")
    return classify(call, proc)


def table(outcomes: list[Outcome]) -> str:
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        rows[(o.category, o.command)][o.verdict] += 1
    kinds = ["right", "traceback", "accepted", "timeout", "wrong"]
    lines = ["| inputs | command | tried | right | traceback | accepted | timeout | other |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    total: Counter[str] = Counter()
    for (category, command), counts in rows.items():
        total.update(counts)
        lines.append(f"| {category} | `{command}` | {sum(counts.values())} | "
                     + " | ".join(str(counts[k]) for k in kinds) + " |")
    lines.append(f"| **all** | | {sum(total.values())} | "
                 + " | ".join(str(total[k]) for k in kinds) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, help="run the dbnbench found in this directory")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=90.0)
    ap.add_argument("--only", choices=["suite", "result", "output", "db", "option", "second"])
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per input")
    args = ap.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "COLUMNS": "120"}
    if args.src:
        env["PYTHONPATH"] = str(args.src.resolve())
    root = Path(tempfile.mkdtemp(prefix="dbnbench-hostile-"))
    env["DBNBENCH_HISTORY"] = str(root / "default-history.sqlite")
    env["XDG_DATA_HOME"] = str(root / "xdg")
    env["HOME"] = str(root / "home")
    started = time.monotonic()
    try:
        shutil.copy(FIXTURE, root / "good.json")
        builders = {"suite": suite_calls, "result": result_calls, "output": output_calls,
                    "db": db_calls, "option": option_calls, "export": export_option_calls,
                    "second": second_pass_calls}
        calls = [c for k, b in builders.items() if args.only in (None, k) for c in b(root)]
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(lambda c: execute(c, args.python, env, args.timeout),
                                     calls))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.verbose:
        for o in outcomes:
            print(f"{o.verdict:9} {o.category:16} {o.command:28} {o.name:28} {o.detail}")
    print(table(outcomes))
    print(f"\n{len(outcomes)} calls in {time.monotonic() - started:.0f} s")
    return 0 if all(o.verdict == "right" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
