#!/usr/bin/python3
"""A small libtorrent (python3-libtorrent 2.0) client for shoal's interop tests.

Run it with Debian's /usr/bin/python3: a pyenv python3 earlier on PATH cannot
import the Debian module.

Modes:
  seed  --torrent T --data DIR           seed the files under DIR (checked first)
  get   (--torrent T | --magnet M) --save DIR
                                         download, exit 0 once complete
  info  (--torrent T | --magnet M)       print one JSON object: info_hash, name,
                                         piece_length, total_size, files

Shared options for seed/get:
  --listen PORT     listen on HOST:PORT (0 = any free port; the real one
                    is printed)
  --host ADDR       the address to listen on and dial from (default 127.0.0.1;
                    a benchmark's network namespace gives its own)
  --transport       tcp (default) | utp | both: the transports libtorrent may
                    use, for incoming and outgoing connections alike
  --peer HOST:PORT  dial this peer (repeatable); re-dialled while no peer is
                    connected, so the other side may start later
  --timeout SECS    give up after this long (exit 3)
  --seed-after      (get) keep seeding after completion until killed
  --add-on-signal   (get) add the torrent only when SIGUSR1 arrives (after the
                    `listening` line), so that a benchmark can time adding a
                    torrent to a session that is already running
  --encryption      disabled (default) | enabled | forced: MSE for outgoing
                    connections; incoming plaintext is always accepted unless
                    forced. forced-rc4: MSE with RC4 only, both directions
                    (allowed_enc_level pe_rc4). plaintext-only: no MSE in
                    either direction (incoming MSE refused too)
  --port-mapping    none (default) | upnp | natpmp | both: turn libtorrent's
                    UPnP-IGD and/or NAT-PMP client on (its default is both on;
                    the tests turn them off unless they have a gateway)
  --upload-limit B  (seed) cap uploads at B bytes/s, loopback peers included,
                    so a test can interrupt a transfer midway

Protocol on stdout, one line each, flushed:
  listening 127.0.0.1:PORT   once the listen socket is up
  seeding                    (seed) once the data is checked and complete
  progress P% peers=N state=S   about twice a second
  first-byte MS WALL_MS      (get) the first payload byte is in
                             (total_wanted_done or total_payload_download
                             first above 0): MS after the script started, and
                             the wall clock in ms since the epoch
  portmap PROTO EXT_PORT     (--port-mapping) libtorrent's portmap_alert: the
                             router mapped our port (PROTO tcp or udp)
  portmap-error MESSAGE      (--port-mapping) a portmap_error_alert
  complete                   (get) all pieces verified: libtorrent reports the
                             torrent finished, as a qBittorrent or Deluge user
                             sees it (block writes its disk threads still hold
                             are done before the process exits)
Errors go to stderr as one line starting with "lt_client: ".
Exit codes: 0 ok, 1 error, 2 usage, 3 timed out.
"""

import argparse
import json
import signal
import sys
import time

# Taken before libtorrent is imported, so `first-byte` counts the whole start.
SCRIPT_STARTED = time.monotonic()

try:
    import libtorrent as lt
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "lt_client: cannot import libtorrent (%s); run with /usr/bin/python3 "
        "and install python3-libtorrent\n" % err
    )
    sys.exit(1)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_TIMEOUT = 3

# How often peers are re-dialled while none is connected, in seconds.
REDIAL_INTERVAL = 1.0
PROGRESS_INTERVAL = 0.5

# settings_pack's enc_policy values: pe_forced 0, pe_enabled 1, pe_disabled 2;
# enc_level: pe_plaintext 1, pe_rc4 2, pe_both 3.
ENCRYPTION_MODES = {
    # name: (out_enc_policy, in_enc_policy, allowed_enc_level)
    "disabled": (2, 1, 3),  # dial plaintext; accept both
    "enabled": (1, 1, 3),  # try MSE, fall back to plaintext; accept both
    "forced": (0, 0, 3),  # MSE only (plaintext inside MSE allowed)
    "forced-rc4": (0, 0, 2),  # MSE with RC4 only
    "plaintext-only": (2, 2, 3),  # no MSE at all, incoming MSE refused
}


def say(line):
    """One protocol line on stdout, flushed so the test sees it at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message, code=EXIT_ERROR):
    sys.stderr.write("lt_client: %s\n" % message)
    sys.stderr.flush()
    sys.exit(code)


def parse_peer(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        fail("bad peer %r, expected HOST:PORT" % text, 2)
    return (host.strip("[]"), int(port))


def loopback_session(host, listen_port, encryption, transport, port_mapping="none"):
    """A session that only talks on `host` and finds peers only by being told."""
    out_policy, in_policy, level = ENCRYPTION_MODES[encryption]
    utp = transport in ("utp", "both")
    tcp = transport in ("tcp", "both")
    settings = {
        "listen_interfaces": ("[%s]:%d" if ":" in host else "%s:%d") % (host, listen_port),
        "outgoing_interfaces": "",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": port_mapping in ("upnp", "both"),
        "enable_natpmp": port_mapping in ("natpmp", "both"),
        # Every peer in a test shares 127.0.0.1.
        "allow_multiple_connections_per_ip": True,
        # libtorrent's defaults are both; a test that means uTP (or TCP) says so.
        "enable_outgoing_utp": utp,
        "enable_incoming_utp": utp,
        "enable_outgoing_tcp": tcp,
        "enable_incoming_tcp": tcp,
        "out_enc_policy": out_policy,
        "in_enc_policy": in_policy,
        "allowed_enc_level": level,
        "prefer_rc4": level == 2,
        # The defaults wait a minute before re-dialling a peer that refused.
        "min_reconnect_time": 1,
        "peer_connect_timeout": 5,
        "smooth_connects": False,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.port_mapping_notification,
        "user_agent": "shoal-interop-libtorrent",
    }
    return lt.session(settings)


def limit_uploads(ses, bytes_per_second):
    """Cap uploads for every peer: by default loopback peers are in the
    unthrottled local class, so put all addresses in the global class."""
    classes = lt.ip_filter()
    classes.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(classes)
    ses.apply_settings({"upload_rate_limit": bytes_per_second})


def wait_listening(ses, deadline):
    """Block until the listen socket is up; return its port."""
    while time.monotonic() < deadline:
        ses.wait_for_alert(200)
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.listen_succeeded_alert):
                return alert.port
            if isinstance(alert, lt.listen_failed_alert):
                fail("cannot listen: %s" % alert.message())
    fail("timed out waiting for the listen socket", EXIT_TIMEOUT)
    return 0


def torrent_params(args, save_path):
    if args.torrent:
        try:
            info = lt.torrent_info(args.torrent)
        except RuntimeError as err:
            fail("cannot read torrent %s: %s" % (args.torrent, err))
        params = lt.add_torrent_params()
        params.ti = info
    else:
        try:
            params = lt.parse_magnet_uri(args.magnet)
        except RuntimeError as err:
            fail("cannot parse magnet: %s" % err)
    params.save_path = save_path
    # Not auto-managed: the queue must not hold back a torrent in a test.
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    params.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
    return params


def drain_alerts(ses):
    """Fail on libtorrent error alerts; return True if the torrent's check finished."""
    checked = False
    for alert in ses.pop_alerts():
        if isinstance(alert, lt.portmap_alert):
            proto = "tcp" if alert.map_protocol == lt.portmap_protocol.tcp else "udp"
            say("portmap %s %d" % (proto, alert.external_port))
        if isinstance(alert, lt.portmap_error_alert):
            say("portmap-error " + alert.message())
        if isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert)):
            fail(alert.message())
        if isinstance(alert, lt.metadata_failed_alert):
            say("warning " + alert.message())
        if isinstance(alert, lt.torrent_checked_alert):
            checked = True
    return checked


def run_transfer(args, want_complete):
    deadline = time.monotonic() + args.timeout
    peers = [parse_peer(p) for p in args.peer]
    if args.add_on_signal:
        # Blocked before the session starts its threads, so they inherit the mask and
        # the signal waits for sigtimedwait below.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    ses = loopback_session(args.host, args.listen, args.encryption, args.transport,
                           args.port_mapping)
    if args.upload_limit:
        limit_uploads(ses, args.upload_limit)
    port = wait_listening(ses, deadline)
    say("listening %s:%d" % (args.host, port))
    if args.add_on_signal and signal.sigtimedwait(
            {signal.SIGUSR1}, max(0.0, deadline - time.monotonic())) is None:
        fail("timed out waiting for SIGUSR1", EXIT_TIMEOUT)

    save_path = args.data if args.mode == "seed" else args.save
    handle = ses.add_torrent(torrent_params(args, save_path))

    announced_seeding = False
    said_first_byte = False
    last_dial = 0.0
    last_progress = 0.0
    while True:
        now = time.monotonic()
        if now >= deadline:
            fail("timed out after %ss" % args.timeout, EXIT_TIMEOUT)
        ses.wait_for_alert(100)
        checked = drain_alerts(ses)
        status = handle.status()

        if checked and args.mode == "seed" and not status.is_seeding:
            # A seed with missing data is a harness error, not something to wait out.
            fail("seed data under %s does not match the torrent (%.1f%% present)"
                 % (args.data, status.progress * 100.0))

        if not said_first_byte and args.mode == "get" and (
                status.total_wanted_done > 0 or status.total_payload_download > 0):
            say("first-byte %d %d" % (int((time.monotonic() - SCRIPT_STARTED) * 1000),
                                      int(time.time() * 1000)))
            said_first_byte = True

        if peers and status.num_peers == 0 and now - last_dial >= REDIAL_INTERVAL:
            for peer in peers:
                handle.connect_peer(peer)
            last_dial = now

        if now - last_progress >= PROGRESS_INTERVAL:
            say(
                "progress %.1f%% peers=%d state=%s"
                % (status.progress * 100.0, status.num_peers, status.state)
            )
            last_progress = now

        if not status.is_seeding or not status.has_metadata:
            continue
        if want_complete:
            say("complete")
            if not args.seed_after:
                return EXIT_OK
            want_complete = False
        elif not announced_seeding:
            say("seeding")
            announced_seeding = True


def run_info(args):
    if args.torrent:
        try:
            info = lt.torrent_info(args.torrent)
        except RuntimeError as err:
            fail("cannot read torrent %s: %s" % (args.torrent, err))
        files = info.files()
        summary = {
            "info_hash": str(info.info_hashes().v1),
            "name": info.name(),
            "piece_length": info.piece_length(),
            "num_pieces": info.num_pieces(),
            "total_size": info.total_size(),
            "private": info.priv(),
            "files": [
                {"path": files.file_path(i), "size": files.file_size(i)}
                for i in range(files.num_files())
                if not files.file_flags(i) & lt.file_storage.flag_pad_file
            ],
        }
    else:
        try:
            params = lt.parse_magnet_uri(args.magnet)
        except RuntimeError as err:
            fail("cannot parse magnet: %s" % err)
        summary = {
            "info_hash": str(params.info_hashes.v1),
            "name": params.name,
            "trackers": list(params.trackers),
            "peers": ["%s:%d" % p for p in params.peers],
        }
    say(json.dumps(summary, sort_keys=True))
    return EXIT_OK


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="lt_client.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)

    def add_source(p, required=True):
        group = p.add_mutually_exclusive_group(required=required)
        group.add_argument("--torrent")
        group.add_argument("--magnet")

    def add_transfer(p):
        p.add_argument("--listen", type=int, default=0)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--transport", choices=("tcp", "utp", "both"), default="tcp")
        p.add_argument("--peer", action="append", default=[])
        p.add_argument("--timeout", type=float, default=120.0)
        p.add_argument("--encryption", choices=sorted(ENCRYPTION_MODES), default="disabled")
        p.add_argument("--port-mapping", choices=("none", "upnp", "natpmp", "both"),
                       default="none")

    seed = sub.add_parser("seed")
    seed.add_argument("--torrent", required=True)
    seed.add_argument("--data", required=True)
    seed.add_argument("--upload-limit", type=int, default=0)
    add_transfer(seed)

    get = sub.add_parser("get")
    add_source(get)
    get.add_argument("--save", required=True)
    get.add_argument("--seed-after", action="store_true")
    get.add_argument("--add-on-signal", action="store_true")
    add_transfer(get)

    info = sub.add_parser("info")
    add_source(info)

    args = parser.parse_args(argv)
    if args.mode == "seed":
        args.magnet = None
        args.seed_after = True
        args.add_on_signal = False
    else:
        args.upload_limit = 0
    return args


def main(argv):
    args = parse_args(argv)
    if args.mode == "info":
        return run_info(args)
    return run_transfer(args, want_complete=args.mode == "get")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
