"""TensorFlow's process group: the TF_CONFIG every rank is given, and the address a rank
posts for its gRPC server, decided without starting TensorFlow."""

from __future__ import annotations

import json
import socket

import pytest

from dbnbench.harness.frameworks.tf_dist import cluster_config, free_port, own_address


def test_each_rank_gets_the_whole_cluster_in_rank_order_and_its_own_index():
    workers = ["10.0.0.1:4000", "10.0.0.2:4001", "10.0.0.3:4002"]
    configs = [cluster_config(workers, r) for r in range(3)]
    assert all(c["cluster"] == {"worker": workers} for c in configs)
    assert [c["task"] for c in configs] == [{"type": "worker", "index": r} for r in range(3)]
    assert json.loads(json.dumps(configs[1])) == configs[1]  # what goes in TF_CONFIG


def test_a_rank_on_loopback_listens_on_loopback():
    assert own_address("127.0.0.1") == "127.0.0.1"


def test_a_rank_posts_the_address_its_route_to_the_store_leaves_from():
    """Not the hostname: a cluster node's name may resolve to an address the others cannot
    reach; the interface the store's traffic leaves from is one they can."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routed (if at all) by the default route
            expected = s.getsockname()[0]
    except OSError:
        pytest.skip("this machine has no route off loopback")
    assert own_address("192.0.2.1") == expected


def test_the_port_a_rank_takes_is_free_to_bind():
    port = free_port("127.0.0.1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free a moment later: TensorFlow's server takes it so


class Store:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    def set(self, key: str, value: str) -> None:
        self.keys[key] = value

    def get(self, key: str) -> bytes:
        return self.keys[key].encode()


def test_a_step_being_traced_announces_nothing_to_the_other_ranks():
    """The product probe traces rank 0's steered step without running it: a command sent
    then would start the other ranks on a step (a collective) rank 0 never joins."""
    from tests.conftest import require_framework

    require_framework("tensorflow")
    import tensorflow as tf

    from dbnbench.harness.frameworks.tf_dist import TensorflowGroup

    group = TensorflowGroup.__new__(TensorflowGroup)  # its commands only: no cluster
    group.tf, group.store, group.sent = tf, Store(), 0

    def steered():
        group.command(1)
        return tf.constant(0)

    tf.function(steered).get_concrete_function()
    assert group.store.keys == {}
    steered()  # run for real: announced, in order
    steered()
    assert group.store.keys == {"cmd/0": "1", "cmd/1": "1"}
    group.sent = 0
    assert [group.next_command(), group.next_command()] == [1, 1]
