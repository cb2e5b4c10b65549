#!/usr/bin/python3
"""A private DHT of libtorrent nodes on 127.0.0.1, for shoal's DHT interop tests.

Run it with Debian's /usr/bin/python3 (python3-libtorrent 2.0). It starts COUNT
libtorrent sessions in this one process, each listening on 127.0.0.1 only and
running nothing but its DHT node (no torrents, LSD, UPnP or NAT-PMP). Every
node is told of every other one, with libtorrent's filters against loopback
addresses and against several nodes on one IP turned off, so they form one
network on loopback.

Why libtorrent nodes and not the `mainline` crate's testnet: mainline 8 only
decodes KRPC messages whose transaction id is exactly 4 bytes long, and
libtorrent's are 2 bytes long (as BEP 5 suggests), so mainline nodes never
answer libtorrent and libtorrent can never join a mainline testnet. libtorrent
nodes answer any transaction id, so both shoal and libtorrent can use these.

Usage: lt_dht_net.py [--count N] [--timeout SECS] [--host ADDR]
Protocol on stdout, one line each, flushed:
  node HOST:PORT        one per node, as soon as it listens ([::1]:PORT for IPv6)
  ready                 once every node knows at least COUNT/2 others
Runs until it is killed (the test drops it) or the timeout passes.
Exit codes: 0 ok, 1 error, 3 timed out before ready.
"""

import argparse
import sys
import time
import warnings

try:
    import libtorrent as lt
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.stderr.write("lt_dht_net: cannot import libtorrent (%s)\n" % err)
    sys.exit(1)

READY_TIMEOUT = 30.0


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def node_settings(host):
    return {
        "listen_interfaces": ("[%s]:0" if ":" in host else "%s:0") % host,
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        # Every node is on 127.0.0.1: without these libtorrent would keep one of them.
        "dht_ignore_dark_internet": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        # Every query of the test comes from 127.0.0.1: libtorrent's default of 5
        # packets a second per IP would block shoal and the other nodes for 5 min.
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 10_000_000,
        "alert_mask": lt.alert.category_t.error_notification,
    }


def dht_nodes(ses):
    # session.status() is deprecated in 2.0 but is the one call that counts nodes
    # without a round of alerts.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ses.status().dht_nodes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--host", default="127.0.0.1",
                        help="the one address every node listens on (::1 for IPv6)")
    args = parser.parse_args()
    if args.count < 2:
        sys.stderr.write("lt_dht_net: --count must be at least 2\n")
        return 2

    # Bootstrap nodes are only "routers" to libtorrent (asked once, never kept in
    # the routing table), so instead every node is told of every other one, as a
    # plain node it pings and keeps: the network is whole from the start.
    sessions = [lt.session(node_settings(args.host)) for _ in range(args.count)]
    ports = [ses.listen_port() for ses in sessions]
    for ses, own in zip(sessions, ports):
        for port in ports:
            if port != own:
                ses.add_dht_node((args.host, port))
    shown = "[%s]" % args.host if ":" in args.host else args.host
    for ses in sessions:
        say("node %s:%d" % (shown, ses.listen_port()))

    started = time.monotonic()
    deadline = started + args.timeout
    ready = False
    while time.monotonic() < deadline:
        for ses in sessions:
            ses.pop_alerts()
        if not ready:
            if all(dht_nodes(s) >= args.count // 2 for s in sessions):
                say("ready")
                ready = True
            elif time.monotonic() - started > READY_TIMEOUT:
                counts = [dht_nodes(s) for s in sessions]
                sys.stderr.write("lt_dht_net: not ready, nodes known: %s\n" % counts)
                return 3
        time.sleep(0.2)
    return 0 if ready else 3


if __name__ == "__main__":
    sys.exit(main())
