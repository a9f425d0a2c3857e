"""A group's energy: every rank's meter over one window, each GPU and each host's packages
counted once (harness/probes/group_energy.py), through a real two-rank case."""

from __future__ import annotations

import os
import threading
import time

import pytest

from dbnbench.harness.probes.group_energy import Reading, meters_here, total


def reading(rank: int, host: str, part: str, joules: float | None, reason: str | None = None,
            method: str = "counter") -> Reading:
    return Reading(rank, host, part, joules, 1.0, 0.001, method, f"{part} meter", reason)


def test_every_gpu_of_every_rank_is_summed():
    got = total([reading(0, "a", "cuda:0", 10.0), reading(1, "a", "cuda:1", 12.0),
                 reading(2, "b", "cuda:0", 11.0)])
    assert got.joules == pytest.approx(33.0)
    assert got.parts == ("cuda:0@a", "cuda:1@a", "cuda:0@b")


def test_a_hosts_packages_count_once_however_many_ranks_read_them():
    got = total([reading(0, "a", "package", 50.0), reading(1, "a", "package", 50.0),
                 reading(2, "b", "package", 40.0), reading(3, "b", "", None)])
    assert got.joules == pytest.approx(90.0)


def test_a_missing_rank_leaves_the_sum_missing_with_its_reason():
    got = total([reading(0, "a", "cuda:0", 10.0), reading(1, "b", "cuda:0", None, "NVML off")])
    assert got.joules is None and "rank 1 (cuda:0 on b): NVML off" in got.reason


def test_nothing_metered_says_so():
    assert total([reading(1, "a", "", None)]).reason == "no rank read an energy meter"


def test_only_the_first_rank_of_a_host_reads_a_cpu_package():
    assert meters_here("cpu", 0) and not meters_here("cpu", 1)
    assert meters_here("cuda:1", 1)


def test_a_json_round_trip_keeps_a_reading():
    r = reading(2, "h", "package", 3.5)
    assert Reading.from_json(r.to_json()) == r


@pytest.fixture
def fake_powercap(tmp_path, monkeypatch):
    """A RAPL package counter that moves 1 J per second, updated every millisecond."""
    domain = tmp_path / "intel-rapl:0"
    domain.mkdir()
    counter = domain / "energy_uj"
    (domain / "max_energy_range_uj").write_text(str(2**40))
    stop, start = threading.Event(), time.monotonic()

    def tick() -> None:
        staged = domain / "energy_uj.new"
        while not stop.is_set():  # replaced whole, as sysfs reads: never a half-written value
            staged.write_text(str(int((time.monotonic() - start) * 1e6)))
            os.replace(staged, counter)
            time.sleep(0.001)

    counter.write_text("0")
    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    monkeypatch.setenv("DBNBENCH_POWERCAP", str(tmp_path))
    yield
    stop.set()
    thread.join()


def test_a_two_rank_case_on_one_host_counts_its_package_once(tmp_path, cli, fake_powercap):
    from tests.conftest import require_framework
    from tests.test_parallel import cases_of, suite

    require_framework("torch")
    out = tmp_path / "out"
    # Repetitions of 0.2 s: a window of a second or more, so a late tick of the fake counter
    # (it moves every millisecond) is a small part of it.
    done = cli("run", "--suite", suite(tmp_path, workers="2", min_time=0.2), "-o", str(out),
               "--no-html")
    assert done.returncode == 0, done.stderr[-2000:]
    (case,) = cases_of(out).values()
    m = case["metrics"]
    assert case["status"] == "ok" and m["energy_j"] is not None, m["unmeasured"]
    # 1 W for the package; two ranks each counting it would read 2 W.
    assert 0.7 < m["avg_power_w"] < 1.4, m
    assert m["energy_window_s"] > 0.5
    assert m["energy_method"] == "counter" and m["energy_window_s"] > 0
    assert m["energy_period_s"] < 0.05
    assert "package@" in m["energy_source"] and "sum over 1 meters" in m["energy_source"]
