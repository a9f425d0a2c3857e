"""A follower rank of a multi-rank case: started by rank 0's worker (or, on another node, by
that node's agent) with its orders in the environment; joins the case's process group, sets
the case up as rank 0 does, then runs a step, a probe or stops at each command rank 0
broadcasts. Anything that goes wrong ends the process with a traceback in the worker's log,
and rank 0's next collective fails, naming this rank."""

from __future__ import annotations

import json
import os

from ..probes import heap
from ..probes.group_energy import RankMeter
from ..records import CaseRequest, decode_request
from .case_group import (
    MEMBER_ENV,
    METER_START,
    METER_STOP,
    PROBE,
    STEP,
    Member,
    affinity,
    pin,
    probe,
)
from .worker import build, die_with_parent, make_framework, watch_parent


def follow(member: Member) -> None:
    req = decode_request(member.request)
    if not isinstance(req, CaseRequest):
        raise SystemExit(f"a follower rank was sent a {req.kind} request, not a case")
    pin(member.cores)
    c, settings = req.case, req.settings
    device = c.device
    if device.startswith("cuda"):  # one GPU per rank of this node, in local rank order
        device = f"cuda:{member.local_rank}"
    fw = make_framework(c.framework, device, c.precision, settings.threads, settings.seed)
    host, port = member.store.rsplit(":", 1)
    store = fw.group_store(host, int(port), False, settings.timeout_s, member.prefix)
    meter = RankMeter(member.rank, device, member.local_rank)  # its period, before any window
    store.set(f"meter/{member.rank}", json.dumps(meter.need_s))
    store.set(f"ready/{member.rank}", json.dumps(affinity()))
    group = fw.open_group(store, member.rank, member.world, settings.timeout_s)
    impl = build(req, fw)
    fw.seed_all(settings.seed)
    impl.setup()
    fw.sync()
    while True:
        command = group.next_command()
        if command == STEP:
            impl.step()
        elif command == PROBE:
            probe(group, req.work.communicated, group.dtype)
        elif command == METER_START:
            meter.start()
        elif command == METER_STOP:
            store.set(f"energy/{member.rank}", json.dumps(meter.stop().to_json()))
        else:
            break
    fw.sync()
    group.close()


def main() -> None:
    heap.fix()  # the same heap policy as rank 0, its worker
    die_with_parent()
    watch_parent()
    follow(Member.decode(os.environ[MEMBER_ENV]))


if __name__ == "__main__":
    main()
