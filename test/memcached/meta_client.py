"""meta-memcache (PyPI, a client that speaks only memcached's meta protocol) against a
KVRaft member: python3 meta_client.py HOST PORT. Prints one line per check and exits 1 at
the first failure, naming it, so that the TypeScript test can show what went wrong."""

import sys

from meta_memcache import CacheClient, ServerAddress, SetMode, connection_pool_factory_builder

# A Raft write commits on a majority before it is answered: longer than memcached's
# sub-millisecond replies, so the client's 1 s default is raised.
RECV_TIMEOUT_S = 10


def check(name, actual, expected):
    if actual != expected:
        print(f"FAIL {name}: got {actual!r}, expected {expected!r}")
        sys.exit(1)
    print(f"ok {name}")


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    client = CacheClient.cache_client_from_servers(
        servers=[ServerAddress(host=host, port=port)],
        connection_pool_factory_fn=connection_pool_factory_builder(recv_timeout=RECV_TIMEOUT_S, connection_timeout=RECV_TIMEOUT_S),
    )
    check("get of a missing key", client.get("meta/missing"), None)
    check("set", client.set("meta/greeting", "hello", ttl=60), True)
    check("get", client.get("meta/greeting"), "hello")
    check("set of a dict (client flags carry the encoding)", client.set("meta/doc", {"a": [1, 2]}, ttl=0), True)
    check("get of a dict", client.get("meta/doc"), {"a": [1, 2]})
    check("binary value", client.set("meta/bytes", b"\x00\x01\xff\r\n", ttl=0) and client.get("meta/bytes"), b"\x00\x01\xff\r\n")
    value, cas = client.get_cas("meta/greeting")
    check("get_cas value", value, "hello")
    check("set with the right cas", client.set("meta/greeting", "world", ttl=60, cas_token=cas), True)
    check("set with a stale cas", client.set("meta/greeting", "stale", ttl=60, cas_token=cas), False)
    check("the value after cas", client.get("meta/greeting"), "world")
    check("add of an existing key", client.set("meta/greeting", "x", ttl=0, set_mode=SetMode.ADD), False)
    check("add of a new key", client.set("meta/fresh", "x", ttl=0, set_mode=SetMode.ADD), True)
    check("append", client.set("meta/fresh", "yz", ttl=0, set_mode=SetMode.APPEND) and client.get("meta/fresh"), "xyz")
    # multi_get pipelines the mg requests and answers by Key object.
    found = client.multi_get(["meta/greeting", "meta/missing", "meta/fresh"])
    check("multi_get", {key.key: value for key, value in found.items()},
          {"meta/greeting": "world", "meta/missing": None, "meta/fresh": "xyz"})
    check("touch", client.touch("meta/greeting", ttl=120), True)
    check("delta on a missing key", client.delta("meta/counter", 5), False)
    check("delta_initialize creates it", client.delta_initialize("meta/counter", 5, initial_value=10, initial_ttl=0), True)
    check("delta_and_get", client.delta_and_get("meta/counter", 5), 15)
    check("delete", client.delete("meta/greeting"), True)
    check("get after delete", client.get("meta/greeting"), None)
    print("done")


main()
