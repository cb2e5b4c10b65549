#!/usr/bin/python3
"""Two shoal binaries against each other on the loopback shoal→shoal row:
`bench/ab.py OLD NEW [--runs N] [--size-mib N] [--old-args A] [--new-args A] [--keep]`.

For "before and after" comparisons of a change. Both binaries transfer the
same payload (1 GiB of random data by default, 1 MiB pieces) from a seeder to
a leecher of the same binary over 127.0.0.1, timed exactly as scenario 1 of
the suite times a row (bench/loopback.py): completion when the leecher exits
0, durable when the harness's fsync of the file has returned, CPU of both
sides. One warm-up transfer of each binary is not counted; then the runs
alternate (OLD, NEW, then NEW, OLD, ...) so that drift hits both alike.
Prints median (min–max) per binary and NEW's medians over OLD's. Works in a
scratch folder under /tmp, removed at the end unless --keep. Run with Debian's
python from the repository root; no root needed.

--old-args/--new-args add options to both sides of one binary's transfers, so
one binary can be compared with itself in two settings, e.g. plaintext against
RC4: `bench/ab.py S S --old-args "--encryption off" --new-args "--encryption require"`."""

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ left in bench/

import clients  # noqa: E402 (after the line above)
import loopback  # noqa: E402
import nets  # noqa: E402
from bench import MIB, make_payload, make_torrent  # noqa: E402
from procs import kill_all  # noqa: E402

PAIR = ("shoal", "shoal", clients.DIRECT)
# Per binary: what each column shows, and how it is read from one run.
COLUMNS = [
    ("completion s", "%.2f", lambda r: r["completion_s"]),
    ("durable s", "%.2f", lambda r: r["durable_s"]),
    ("leecher CPU s", "%.2f", lambda r: r["leech_cpu"]),
    ("seeder CPU s", "%.2f", lambda r: r["seed_cpu"]),
    ("both sides CPU s", "%.2f", lambda r: r["leech_cpu"] + r["seed_cpu"]),
    ("leecher peak anon MiB", "%.1f", lambda r: r["leech_anon_kib"] / 1024),
]


def log(line):
    sys.stderr.write("ab: %s\n" % line)
    sys.stderr.flush()


def spread(values, fmt):
    values = sorted(values)
    return ("%s (%s–%s)" % (fmt, fmt, fmt)) % (statistics.median(values), values[0], values[-1])


def table(results, names):
    lines = ["| binary | runs | " + " | ".join(title for title, _, _ in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for name in names:
        good = [r for r in results[name] if "error" not in r]
        if not good:
            lines.append("| %s | 0 of %d | failed |" % (name, len(results[name])))
            continue
        lines.append("| %s | %d | %s |" % (name, len(good), " | ".join(
            spread([read(r) for r in good], fmt) for _, fmt, read in COLUMNS)))
    old, new = ([r for r in results[name] if "error" not in r] for name in names)
    if old and new:
        lines.append("| new / old (medians) | | %s |" % " | ".join(
            "%.3f" % (statistics.median(map(read, new)) / statistics.median(map(read, old)))
            for _, _, read in COLUMNS))
    return "\n".join(lines)


def on_signal(signum, _frame):
    raise SystemExit("ab: stopped by signal %d" % signum)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", help="the shoal binary before")
    parser.add_argument("new", help="the shoal binary after")
    parser.add_argument("--runs", type=int, default=7, help="counted runs of each binary")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="leave the scratch folder")
    parser.add_argument("--old-args", default="", help="extra options for OLD's seed and get")
    parser.add_argument("--new-args", default="", help="extra options for NEW's seed and get")
    args = parser.parse_args(argv)
    binaries = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            parser.error("not an executable: %s" % path)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    work = tempfile.mkdtemp(prefix="shoal-ab.", dir="/tmp")
    try:
        seed_dir = os.path.join(work, "seed")
        log_dir = os.path.join(work, "logs")
        os.makedirs(seed_dir)
        os.makedirs(log_dir)
        source = os.path.join(seed_dir, "payload.bin")
        log("writing %d MiB of random data to %s" % (args.size_mib, source))
        make_payload(source, args.size_mib * MIB)
        torrent = os.path.join(work, "payload.torrent")
        make_torrent(binaries["new"], source, torrent)
        os.sync()
        ways = loopback.Ways(None)
        ways.add(clients.DIRECT, nets.LOOPBACK, torrent, None)
        timeout = max(120, args.size_mib // 8)
        extra = {"old": shlex.split(args.old_args), "new": shlex.split(args.new_args)}
        setups = {name: clients.Setup(path, None, seed_dir, work, log_dir, timeout, extra[name])
                  for name, path in binaries.items()}
        want_sha1 = loopback.file_sha1(source)
        results = {"old": [], "new": []}
        warmup = {}
        for number in range(0, args.runs + 1):
            order = ["old", "new"] if number % 2 == 0 else ["new", "old"]
            for name in order:
                label = "%s-%d" % (name, number)
                what = "warm-up" if number == 0 else "run %d" % number
                try:
                    result = loopback.one_transfer(setups[name], ways, PAIR, label,
                                                   os.path.basename(source), want_sha1)
                    log("%s %s: %s" % (what, name, loopback.describe(result)))
                except (RuntimeError, OSError) as error:
                    log("%s %s FAILED: %s" % (what, name, error))
                    result = {"error": str(error).splitlines()[0]}
                    os.sync()
                if number == 0:
                    warmup[name] = result
                else:
                    results[name].append(result)
        with open(os.path.join(work, "results.json"), "w") as out:
            json.dump({"binaries": binaries, "size": args.size_mib * MIB, "warmup": warmup,
                       "runs": results}, out, indent=1)
    finally:
        kill_all()
        if args.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("shoal→shoal, %d MiB over 127.0.0.1, a warm-up and %d alternating runs each "
          "(median, min–max in brackets)\nold: %s %s\nnew: %s %s\n" % (
              args.size_mib, args.runs, binaries["old"], args.old_args, binaries["new"],
              args.new_args))
    print(table(results, ["old", "new"]))
    print("\n(new / old below 1: the new binary took less time, CPU or memory.)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
