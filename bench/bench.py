#!/usr/bin/python3
"""The benchmark driver behind bench/run.sh: makes the payload and the
torrent in a work folder, runs the scenarios, writes docs/benchmarks.md and
the raw results as JSON in the work folder. Run with Debian's python (the
libtorrent client needs it); bench/run.sh is the one command to use."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import charts
import clients
import create
import loopback
import nets
import report
import simulate
import swarm
from procs import free_port, kill_all

MIB = 1 << 20


def log(line):
    sys.stderr.write("bench: %s\n" % line)
    sys.stderr.flush()


def make_payload(path, size):
    """`size` bytes of random data (random so nothing compresses or dedups)."""
    with open(path, "wb") as out:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 16 * MIB))
            out.write(chunk)
            left -= len(chunk)


def info_hash(torrent):
    import libtorrent as lt  # Debian's python3-libtorrent
    return str(lt.torrent_info(torrent).info_hash())


def make_torrent(shoal, source, torrent, tracker=None):
    argv = [shoal, "create", source, "-o", torrent, "--piece-length", "1M", "--quiet"]
    if tracker:
        argv += ["--tracker", tracker]
    subprocess.run(argv, check=True, timeout=600)


def ways_to_meet(args, source, log):
    """The torrents (one per way of meeting, same info-hash) and networks."""
    torrent = os.path.join(args.work, "payload.torrent")
    make_torrent(args.shoal, source, torrent)
    ways = loopback.Ways(info_hash(torrent))
    ways.add(clients.DIRECT, nets.LOOPBACK, torrent, None)
    port = free_port()
    with_tracker = os.path.join(args.work, "payload-tracker.torrent")
    make_torrent(args.shoal, source, with_tracker, "http://127.0.0.1:%d/announce" % port)
    ways.add(clients.TRACKER, nets.LOOPBACK, with_tracker, port)
    try:
        net = nets.make_namespace(args.netns)
    except (OSError, subprocess.SubprocessError) as error:
        log("no network namespace (%s): Transmission leecher rows will say so" % error)
        return ways, torrent
    port = free_port()
    in_namespace = os.path.join(args.work, "payload-namespace.torrent")
    make_torrent(args.shoal, source, in_namespace, "http://%s/announce" % net.addr(port))
    for other in (with_tracker, in_namespace):
        # The announce URL is outside the info dictionary: one info-hash for all.
        assert info_hash(other) == ways.info_hash, other
    ways.add(clients.NAMESPACE, net, in_namespace, port)
    return ways, torrent


# The large payload runs the pairs of shoal, libtorrent and rqbit with themselves next to
# the hardware limit.
LARGE_CLIENTS = ("shoal", "libtorrent", "rqbit")
LARGE_PAIRS = [pair for pair in clients.PAIRS if pair[0] == pair[1] and pair[0] in LARGE_CLIENTS]
LARGE_RUNS = 2
# What --only can pick.
SCENARIOS = ("loopback", "create", "swarm", "simulation")


def large_payload(args, log):
    """The large payload (4 GiB by default) with its own seed folder and
    torrent: scenario 1 repeats its direct self-pairs on it, and scenario 2
    creates torrents of it. None when --large-mib is 0."""
    if args.large_mib <= 0:
        return None
    seed_dir = os.path.join(args.work, "seed-large")
    os.makedirs(seed_dir)
    source = os.path.join(seed_dir, "payload-large.bin")
    log("writing %d MiB of random data to %s" % (args.large_mib, source))
    make_payload(source, args.large_mib * MIB)
    torrent = os.path.join(args.work, "payload-large.torrent")
    make_torrent(args.shoal, source, torrent)
    ways = loopback.Ways(info_hash(torrent))
    ways.add(clients.DIRECT, nets.LOOPBACK, torrent, None)
    port = free_port()
    with_tracker = os.path.join(args.work, "payload-large-tracker.torrent")
    make_torrent(args.shoal, source, with_tracker, "http://127.0.0.1:%d/announce" % port)
    ways.add(clients.TRACKER, nets.LOOPBACK, with_tracker, port)
    return seed_dir, source, ways


def on_signal(signum, _frame):
    raise SystemExit("bench: stopped by signal %d" % signum)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shoal", required=True)
    parser.add_argument("--hwlimit", required=True, help="the bench/hwlimit binary")
    parser.add_argument("--rqbit", required=True, help="the rqbit binary")
    parser.add_argument("--sim", required=True, help="the crates/sim `sim` binary")
    parser.add_argument("--netns", required=True, help="name of the namespace to make")
    parser.add_argument("--work", required=True, help="scratch folder under /tmp")
    parser.add_argument("--size-mib", type=int, required=True)
    parser.add_argument("--large-mib", type=int, default=0,
                        help="also a payload of this size (0: none) for the self-pairs and create")
    parser.add_argument("--runs", type=int, default=3, help="runs of scenarios 2 and 3")
    parser.add_argument("--loopback-runs", type=int, default=5,
                        help="counted runs of scenario 1 at --size-mib (after a warm-up round)")
    parser.add_argument("--only", choices=SCENARIOS,
                        help="run this scenario alone (the report says the others were not run)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--report", required=True, help="docs/benchmarks.md to write")
    parser.add_argument("--command", required=True, help="the command line, for the report")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    size = args.size_mib * MIB
    seed_dir = os.path.join(args.work, "seed")
    log_dir = os.path.join(args.work, "logs")
    os.makedirs(seed_dir)
    os.makedirs(log_dir)
    source = os.path.join(seed_dir, "payload.bin")
    log("writing %d MiB of random data to %s" % (args.size_mib, source))
    make_payload(source, size)
    ways, torrent = ways_to_meet(args, source, log)
    os.sync()

    # Generous: a stuck transfer fails the run rather than hanging it.
    transfer_timeout = max(120, args.size_mib // 8)
    setup = clients.Setup(args.shoal, args.rqbit, seed_dir, args.work, log_dir, transfer_timeout)
    wanted = (lambda scenario: args.only in (None, scenario))
    started = time.monotonic()
    loopback_results = large_results = create_results = openssl = None
    swarm_results = sim_results = None
    try:
        if wanted("loopback"):
            log("scenario 1: loopback, a warm-up round and %d runs" % args.loopback_runs)
            loopback_results = loopback.run(setup, ways, args.hwlimit, source,
                                            args.loopback_runs, log)
            log("scenario 1 took %.0f s" % (time.monotonic() - started))
        large = large_payload(args, log) if wanted("loopback") or wanted("create") else None
        create_source = source
        if large is not None:
            large_dir, create_source, large_ways = large
            os.sync()
        if large is not None and wanted("loopback"):
            large_setup = clients.Setup(args.shoal, args.rqbit, large_dir, args.work, log_dir,
                                        max(120, args.large_mib // 8))
            log("scenario 1: loopback, %d MiB, a warm-up round and %d runs" % (
                args.large_mib, LARGE_RUNS))
            large_started = time.monotonic()
            large_results = loopback.run(large_setup, large_ways, args.hwlimit, create_source,
                                         LARGE_RUNS, log, LARGE_PAIRS)
            log("scenario 1 at %d MiB took %.0f s" % (args.large_mib,
                                                     time.monotonic() - large_started))
        if wanted("create"):
            log("scenario 2: creating a torrent, %d runs" % args.runs)
            create_results, openssl = create.run(args.shoal, create_source, args.runs,
                                                 args.work, log_dir, log)
        if wanted("swarm"):
            swarm_results = swarm.run(args.shoal, args.work, args.quick, args.runs, log)
        if wanted("simulation"):
            sim_results = simulate.run(args.sim, args.quick, log)
    finally:
        kill_all()
        nets.delete_namespace(args.netns)
    with open(os.path.join(args.work, "results.json"), "w") as out:
        json.dump({"size": size, "loopback": loopback_results,
                   "large_size": args.large_mib * MIB, "loopback_large": large_results,
                   "create": create_results,
                   "openssl_sha1_mb_per_s": openssl, "swarm": swarm_results, "simulation": sim_results}, out, indent=1)
    hows = {loopback.pair_name(pair): pair[2] for pair in clients.PAIRS}
    docs = os.path.dirname(os.path.abspath(args.report))
    made = charts.write(docs, loopback_results["rows"], size) if loopback_results else []
    report.write(args.report, args.command, args.quick, (args.loopback_runs, args.runs), size,
                 args.shoal, args.rqbit, loopback_results, hows,
                 (args.large_mib * MIB, large_results, LARGE_RUNS),
                 (create_results, openssl, create_source == source),
                 swarm.report_text(swarm_results), made,
                 simulate.report_text(sim_results, "sim --peers N --fast") if sim_results else None)
    log("done in %.0f s; wrote %s" % (time.monotonic() - started, args.report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
