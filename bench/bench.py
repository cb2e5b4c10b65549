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

import clients
import create
import loopback
import report
from procs import kill_all

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


def on_signal(signum, _frame):
    raise SystemExit("bench: stopped by signal %d" % signum)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shoal", required=True)
    parser.add_argument("--hwlimit", required=True, help="the bench/hwlimit binary")
    parser.add_argument("--work", required=True, help="scratch folder under /tmp")
    parser.add_argument("--size-mib", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
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
    torrent = os.path.join(args.work, "payload.torrent")
    log("writing %d MiB of random data to %s" % (args.size_mib, source))
    make_payload(source, size)
    subprocess.run([args.shoal, "create", source, "-o", torrent, "--piece-length", "1M",
                    "--quiet"], check=True, timeout=600)
    os.sync()

    # Generous: a stuck transfer fails the run rather than hanging it.
    transfer_timeout = max(120, args.size_mib // 4)
    setup = clients.Setup(args.shoal, torrent, seed_dir, log_dir, transfer_timeout)
    started = time.monotonic()
    try:
        log("scenario 1: loopback, %d runs" % args.runs)
        loopback_results = loopback.run(setup, args.hwlimit, source, args.runs, args.work, log)
        log("scenario 2: creating a torrent, %d runs" % args.runs)
        create_results, openssl = create.run(args.shoal, source, args.runs, args.work, log_dir, log)
    finally:
        kill_all()
    with open(os.path.join(args.work, "results.json"), "w") as out:
        json.dump({"size": size, "loopback": loopback_results, "create": create_results,
                   "openssl_sha1_mb_per_s": openssl}, out, indent=1)
    report.write(args.report, args.command, args.quick, args.runs, size, args.shoal,
                 loopback_results, create_results, openssl)
    log("done in %.0f s; wrote %s" % (time.monotonic() - started, args.report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
