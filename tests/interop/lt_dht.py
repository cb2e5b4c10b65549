#!/usr/bin/python3
"""libtorrent (python3-libtorrent 2.0) on a private DHT, for shoal's DHT interop tests.

Run it with Debian's /usr/bin/python3. It finds peers through the DHT only: no
trackers, no LSD, no peer addresses. The DHT is bootstrapped from the given
nodes on 127.0.0.1, with libtorrent's filters against loopback and private
addresses turned off so a loopback testnet is usable.

Modes:
  seed --torrent T --data DIR   seed the files under DIR and announce on the DHT
  get  --info-hash HEX --save DIR
                                fetch metadata and data of a bare info-hash
                                through peers found on the DHT; exit 0 once
                                complete
Options:
  --bootstrap HOST:PORT  DHT bootstrap node (repeatable, at least one)
  --timeout SECS         give up after this long (exit 3)

Protocol on stdout, one line each, flushed:
  listening 127.0.0.1:PORT   once the listen socket is up
  seeding                    (seed) once the data is checked and complete
  progress P% peers=N dht_nodes=D state=S   about twice a second
  first-peer MS              (get) when the first peer connects, MS after start
  complete                   (get) all pieces verified and written
Exit codes: 0 ok, 1 error, 2 usage, 3 timed out.
"""

import argparse
import sys
import time

try:
    import libtorrent as lt
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.stderr.write("lt_dht: cannot import libtorrent (%s)\n" % err)
    sys.exit(1)

# How often the torrent re-announces on the DHT: its first announce may come
# before the DHT is bootstrapped.
ANNOUNCE_INTERVAL = 2.0
PROGRESS_INTERVAL = 0.5


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message, code=1):
    sys.stderr.write("lt_dht: %s\n" % message)
    sys.stderr.flush()
    sys.exit(code)


def make_session(bootstrap):
    settings = {
        "listen_interfaces": "0.0.0.0:0",
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": ",".join(bootstrap),
        # A loopback testnet: without these libtorrent ignores every node.
        "dht_ignore_dark_internet": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification,
    }
    return lt.session(settings)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["seed", "get"])
    parser.add_argument("--torrent")
    parser.add_argument("--data")
    parser.add_argument("--info-hash")
    parser.add_argument("--save")
    parser.add_argument("--bootstrap", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    if not args.bootstrap:
        fail("at least one --bootstrap HOST:PORT is needed", 2)

    ses = make_session(args.bootstrap)
    params = lt.add_torrent_params()
    if args.mode == "seed":
        if not args.torrent or not args.data:
            fail("seed needs --torrent and --data", 2)
        params.ti = lt.torrent_info(args.torrent)
        params.save_path = args.data
    else:
        if not args.info_hash or not args.save:
            fail("get needs --info-hash and --save", 2)
        params = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + args.info_hash)
        params.save_path = args.save
    handle = ses.add_torrent(params)

    deadline = time.monotonic() + args.timeout
    started = time.monotonic()
    announced = 0.0
    shown = 0.0
    said_listening = False
    said_first_peer = False
    said_seeding = False
    while time.monotonic() < deadline:
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.torrent_error_alert):
                fail("torrent error: %s" % alert.message())
        if not said_listening and ses.listen_port():
            say("listening 127.0.0.1:%d" % ses.listen_port())
            said_listening = True
        now = time.monotonic()
        if now - announced >= ANNOUNCE_INTERVAL:
            handle.force_dht_announce()
            announced = now
        status = handle.status()
        if status.num_peers > 0 and not said_first_peer and args.mode == "get":
            say("first-peer %d" % int((now - started) * 1000))
            said_first_peer = True
        if now - shown >= PROGRESS_INTERVAL:
            say(
                "progress %.1f%% peers=%d dht_nodes=%d state=%s"
                % (
                    status.progress * 100,
                    status.num_peers,
                    ses.status().dht_nodes,
                    status.state,
                )
            )
            shown = now
        if args.mode == "seed" and status.is_seeding and not said_seeding:
            say("seeding")
            said_seeding = True
        if args.mode == "get" and status.is_seeding:
            say("complete")
            return 0
        time.sleep(0.1)
    fail("timed out", 3)


if __name__ == "__main__":
    sys.exit(main())
