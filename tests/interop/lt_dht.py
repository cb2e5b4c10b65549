#!/usr/bin/python3
"""libtorrent (python3-libtorrent 2.0) finding peers on a private DHT or through
local service discovery (LSD, with --lsd), for shoal's discovery interop tests.

Run it with Debian's /usr/bin/python3. It finds peers through the DHT only (or
LSD only): no trackers, no peer addresses. The DHT is bootstrapped from the given
nodes on 127.0.0.1 (a network of libtorrent nodes, tests/interop/lt_dht_net.py),
with libtorrent's filters against loopback addresses turned off.

It listens on 127.0.0.1 only: libtorrent runs one DHT node per listen socket
and none on the loopback socket of a 0.0.0.0 listen, so with 0.0.0.0 its DHT
would talk to 127.0.0.1 from the machine's other address and hear nothing.
In seed mode it never dials out, so whoever downloads from it found it.

Set LT_DHT_LOG=1 to get every DHT alert (packets in and out) and the peer
connection logs on stderr.

Modes:
  seed --torrent T --data DIR   seed the files under DIR and announce on the DHT
  get  --info-hash HEX --save DIR
                                fetch metadata and data of a bare info-hash
                                through peers found on the DHT; exit 0 once
                                complete
Options:
  --bootstrap HOST:PORT  DHT bootstrap node (repeatable, at least one unless --lsd)
  --lsd                  LSD instead of the DHT (BEP 14 multicast on every
                         interface but loopback: run it in a network namespace)
  --listen ADDR:PORT     listen interfaces (default 127.0.0.1:0)
  --timeout SECS         give up after this long (exit 3)
  --defaults             keep libtorrent's defaults for seeding_outgoing_connections
                         and enable_outgoing_utp (both on), as its users run it;
                         without it a seed never dials and nobody dials over uTP

Protocol on stdout, one line each, flushed:
  listening ADDR:PORT        once the listen socket is up
  seeding                    (seed) once the data is checked and complete
  progress P% peers=N dht_nodes=D state=S   about twice a second
  dht-peer IP:PORT MS        (get) a peer the DHT returned for the info-hash,
                             the first time it is seen, MS after start
  lsd-peer MS MESSAGE        a peer LSD found, MS after start, with
                             libtorrent's message naming it
  first-peer MS              (get) when the first peer connects, MS after start
  first-byte MS WALL_MS      (get) when the first payload byte is in
                             (total_payload_download > 0): MS after the script
                             started, and the wall clock in ms since the epoch
  complete                   (get) all pieces verified and written
Exit codes: 0 ok, 1 error, 2 usage, 3 timed out.
"""

import argparse
import os
import socket
import sys
import time

# Taken before libtorrent is imported, so `first-byte` counts the whole start.
SCRIPT_STARTED = time.monotonic()
import warnings

try:
    import libtorrent as lt
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.stderr.write("lt_dht: cannot import libtorrent (%s)\n" % err)
    sys.exit(1)

# How often the torrent re-announces on the DHT: its first announce may come
# before the DHT is bootstrapped.
ANNOUNCE_INTERVAL = 1.0
PROGRESS_INTERVAL = 0.5
# (get) How long after completing to wait for a pending DHT lookup's reply.
REPLY_GRACE = 10.0
LOG_DHT = os.environ.get("LT_DHT_LOG") == "1"


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message, code=1):
    sys.stderr.write("lt_dht: %s\n" % message)
    sys.stderr.flush()
    sys.exit(code)


def alert_mask():
    mask = (
        lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        # dht_get_peers_reply_alert: what our own lookups find.
        | lt.alert.category_t.dht_operation_notification
        # lsd_peer_alert: a peer found through local service discovery.
        | lt.alert.category_t.peer_notification
    )
    if LOG_DHT:
        mask |= (
            lt.alert.category_t.dht_notification
            | lt.alert.category_t.dht_log_notification
            | lt.alert.category_t.connect_notification
            | lt.alert.category_t.peer_log_notification
        )
    return mask


def log_alert(alert):
    """With LT_DHT_LOG=1, every DHT alert on stderr (what libtorrent sends and gets)."""
    if not LOG_DHT:
        return
    sys.stderr.write("%s: %s\n" % (type(alert).__name__, alert.message()))


def dht_nodes(ses):
    # session.status() is deprecated in 2.0 but is the one call that counts
    # nodes without a round of alerts.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ses.status().dht_nodes


def port_free_for_tcp_and_udp(host):
    """A port that is free on `host` for TCP and for UDP at once. libtorrent
    announces to the DHT with implied_port (the port its DHT packets come
    from), so its TCP listen port and its UDP port must be the same; with
    port 0 they are picked apart and may differ when other tests hold UDP
    ports, and then peers are told a port nothing listens on."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        with socket.socket(family, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(family, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    fail("no port free for both TCP and UDP on %s" % host, 1)


def listen_interfaces(listen):
    host, port = listen.rsplit(":", 1)
    if port != "0":
        return listen
    return "%s:%d" % (host, port_free_for_tcp_and_udp(host))


def make_session(args):
    seeding = args.mode == "seed"
    settings = {
        "listen_interfaces": listen_interfaces(args.listen),
        "enable_dht": not args.lsd,
        "enable_lsd": args.lsd,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": ",".join(args.bootstrap),
        # A loopback DHT: without these libtorrent keeps one node per IP at most.
        "dht_ignore_dark_internet": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        # Everything in the test comes from 127.0.0.1: libtorrent's default of 5
        # DHT packets a second per IP would block the other nodes for 5 min.
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 10_000_000,
        # A seed never dials out, so a peer that gets from it must have found it
        # through its own lookup (not by being found). --defaults: libtorrent's own
        # (a seed dials the downloaders its announces find).
        "seeding_outgoing_connections": args.defaults or not seeding,
        "allow_multiple_connections_per_ip": True,
        # shoal speaks TCP only: libtorrent would try uTP first and reach shoal over
        # TCP only after that attempt times out (~3 s), which is not discovery time.
        # --defaults: libtorrent's own (uTP dials on), as its users run it.
        "enable_outgoing_utp": args.defaults,
        "alert_mask": alert_mask(),
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
    parser.add_argument("--lsd", action="store_true")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--defaults", action="store_true")
    args = parser.parse_args()
    if not args.bootstrap and not args.lsd:
        fail("at least one --bootstrap HOST:PORT is needed", 2)

    ses = make_session(args)
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
    target = lt.sha1_hash(bytes.fromhex(args.info_hash)) if args.mode == "get" else None
    seen = set()
    # (get) A dht_get_peers reply came in: the DHT lookup's result is known.
    replied = False
    completed_at = None

    deadline = time.monotonic() + args.timeout
    started = time.monotonic()
    announced = 0.0
    shown = 0.0
    said_listening = False
    said_first_peer = False
    said_first_byte = False
    said_seeding = False
    while time.monotonic() < deadline:
        for alert in ses.pop_alerts():
            log_alert(alert)
            if isinstance(alert, lt.torrent_error_alert):
                fail("torrent error: %s" % alert.message())
            if alert.what() == "lsd_peer":
                # No Python class for lsd_peer_alert in 2.0: its message names the peer.
                ms = int((time.monotonic() - started) * 1000)
                say("lsd-peer %d %s" % (ms, alert.message()))
            if isinstance(alert, lt.dht_get_peers_reply_alert) and alert.info_hash == target:
                replied = True
                for ip, port in alert.peers():
                    peer = ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)
                    if peer not in seen:
                        seen.add(peer)
                        ms = int((time.monotonic() - started) * 1000)
                        say("dht-peer %s %d" % (peer, ms))
        if not said_listening and ses.listen_port():
            host = args.listen.rsplit(":", 1)[0]
            say("listening %s:%d" % (host, ses.listen_port()))
            said_listening = True
        now = time.monotonic()
        if now - announced >= ANNOUNCE_INTERVAL and not args.lsd:
            handle.force_dht_announce()
            if target is not None:
                # A lookup of our own, to report what the DHT holds (the
                # torrent's lookups add peers without saying where from).
                ses.dht_get_peers(target)
            announced = now
        status = handle.status()
        peered = status.num_peers > 0 or status.is_seeding
        if peered and not said_first_peer and args.mode == "get":
            say("first-peer %d" % int((now - started) * 1000))
            said_first_peer = True
        if not said_first_byte and args.mode == "get" and (
                status.total_wanted_done > 0 or status.total_payload_download > 0):
            say("first-byte %d %d" % (int((time.monotonic() - SCRIPT_STARTED) * 1000),
                                      int(time.time() * 1000)))
            said_first_byte = True
        if now - shown >= PROGRESS_INTERVAL:
            say(
                "progress %.1f%% peers=%d dht_nodes=%d state=%s"
                % (
                    status.progress * 100,
                    status.num_peers,
                    dht_nodes(ses),
                    status.state,
                )
            )
            shown = now
        if args.mode == "seed" and status.is_seeding and not said_seeding:
            say("seeding")
            said_seeding = True
        if args.mode == "get" and status.is_seeding and completed_at is None:
            say("complete")
            completed_at = now
        # A transfer can finish before the lookup's reply (the other side may have found
        # us first): wait a little for it, so what the DHT returned gets reported.
        if completed_at is not None and (
            replied or args.lsd or now - completed_at > REPLY_GRACE
        ):
            return 0
        time.sleep(0.1)
    fail("timed out", 3)


if __name__ == "__main__":
    sys.exit(main())
