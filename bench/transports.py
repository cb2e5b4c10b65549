#!/usr/bin/python3
"""What the transports and encryption cost (issue 16): 1 GiB over loopback,
shoal→shoal against libtorrent→libtorrent, in the same run, in each setting:

  plaintext TCP   both sides TCP only, no encryption
  RC4 TCP         both sides TCP only, RC4 forced (shoal `--encryption require`,
                  libtorrent pe_forced with pe_rc4)
  prefer TCP      TCP only, each client's default encryption (shoal `prefer`,
                  libtorrent pe_enabled): MSE handshake, then plaintext
  uTP             both sides uTP only, no encryption

Timing is scenario 1's (loopback.py): a warm-up round, then interleaved runs,
completion and durable times, CPU of both sides; libtorrent's leecher is a
running session that meets its seeder through a local tracker.

Usage (as root, from the repository root, binaries built in release mode):
  /usr/bin/python3 bench/transports.py [--size-mib 1024] [--runs 3]
      [--settings plaintext-tcp,rc4-tcp,prefer-tcp,utp] [--out FILE.md]"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import clients  # noqa: E402
import loopback  # noqa: E402
import nets  # noqa: E402
from procs import free_port, kill_all  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAIRS = [("shoal", "shoal", clients.DIRECT), ("libtorrent", "libtorrent", clients.TRACKER)]
SETTINGS = {
    "plaintext-tcp": (["--transport", "tcp", "--encryption", "off"],
                      ["--transport", "tcp", "--encryption", "disabled"]),
    "rc4-tcp": (["--transport", "tcp", "--encryption", "require"],
                ["--transport", "tcp", "--encryption", "forced-rc4"]),
    "prefer-tcp": (["--transport", "tcp"],
                   ["--transport", "tcp", "--encryption", "enabled"]),
    "utp": (["--transport", "utp", "--encryption", "off"],
            ["--transport", "utp", "--encryption", "disabled"]),
}


def summary(runs, key):
    values = sorted(r[key] for r in runs if "error" not in r)
    if not values:
        return "failed"
    return "%.2f (%.2f–%.2f)" % (statistics.median(values), values[0], values[-1])


def median(runs, key):
    values = [r[key] for r in runs if "error" not in r]
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoal", default=os.path.join(REPO, "target", "release", "shoal"))
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--out")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="shoal-transports-", dir="/tmp")
    log_dir = os.path.join(work, "logs")
    os.makedirs(log_dir)
    seed_dir = os.path.join(work, "seed")
    os.makedirs(seed_dir)

    def log(line):
        sys.stderr.write("transports: %s\n" % line)
        sys.stderr.flush()

    try:
        source = os.path.join(seed_dir, "payload.bin")
        bench.make_payload(source, args.size_mib * bench.MIB)
        torrent = os.path.join(work, "payload.torrent")
        bench.make_torrent(args.shoal, source, torrent)
        ways = loopback.Ways(bench.info_hash(torrent))
        ways.add(clients.DIRECT, nets.LOOPBACK, torrent, None)
        port = free_port()
        with_tracker = os.path.join(work, "payload-tracker.torrent")
        bench.make_torrent(args.shoal, source, with_tracker,
                           "http://127.0.0.1:%d/announce" % port)
        ways.add(clients.TRACKER, nets.LOOPBACK, with_tracker, port)
        lines = ["%d MiB over loopback, a warm-up round and %d runs per row; medians "
                 "(min–max). CPU is both sides, seconds per GiB." % (args.size_mib, args.runs),
                 "",
                 "| setting | pair | completion s | durable s | CPU s/GiB | shoal vs "
                 "libtorrent (completion) | CPU ratio |",
                 "|---|---|---|---|---|---|---|"]
        per_gib = 1024.0 / args.size_mib
        for name in args.settings.split(","):
            shoal_args, lt_args = SETTINGS[name]
            setup = clients.Setup(args.shoal, None, seed_dir, work, log_dir, 900,
                                  shoal_args=shoal_args, lt_args=lt_args)
            log("setting %s" % name)
            result = loopback.run(setup, ways, None, source, args.runs,
                                  lambda line, name=name: log("%s: %s" % (name, line)),
                                  pairs=PAIRS)
            rows = result["rows"]
            shoal_runs = rows[loopback.pair_name(PAIRS[0])]
            lt_runs = rows[loopback.pair_name(PAIRS[1])]
            cpu = {}
            for pair, runs in ((PAIRS[0], shoal_runs), (PAIRS[1], lt_runs)):
                for r in runs:
                    if "error" not in r:
                        r["cpu_both"] = (r["leech_cpu"] + r["seed_cpu"]) * per_gib
                cpu[pair[0]] = median(runs, "cpu_both")
            speed = median(lt_runs, "completion_s") / median(shoal_runs, "completion_s")
            for pair, runs in ((PAIRS[0], shoal_runs), (PAIRS[1], lt_runs)):
                ratio = ("%.2f×" % speed, "%.2f" % (cpu["shoal"] / cpu["libtorrent"])) \
                    if pair[0] == "shoal" else ("", "")
                lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    name, loopback.pair_name(pair), summary(runs, "completion_s"),
                    summary(runs, "durable_s"), summary(runs, "cpu_both"), ratio[0], ratio[1]))
        text = "\n".join(lines) + "\n"
        print(text)
        if args.out:
            with open(args.out, "w") as out:
                out.write(text)
    finally:
        kill_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
