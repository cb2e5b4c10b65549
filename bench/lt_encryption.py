#!/usr/bin/python3
"""libtorrent→libtorrent over 127.0.0.1 in several encryption modes:
`bench/lt_encryption.py TORRENT DATA_DIR RUNS MODE...` (modes of
tests/interop/lt_client.py's --encryption, e.g. `disabled forced-rc4`).

A stopgap until the loopback scenario has encrypted rows: each run starts a
seeder, waits for its `seeding` line, then times a leecher from its start to
its `complete` line (which includes up to a second before libtorrent dials the
peer it was handed). A warm-up round is not counted; rounds alternate the
order of the modes. Prints each run and the median per mode. Run with
Debian's python; the leecher's files go to a scratch folder under /tmp."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

LT_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop",
                         "lt_client.py")


def lines(proc):
    for line in proc.stdout:
        yield line.strip()


def one(torrent, data_dir, mode, work):
    out = tempfile.mkdtemp(dir=work)
    common = ["--encryption", mode, "--timeout", "600"]
    seed = subprocess.Popen(["/usr/bin/python3", LT_CLIENT, "seed", "--torrent", torrent,
                             "--data", data_dir] + common, stdout=subprocess.PIPE, text=True)
    port = None
    for line in lines(seed):
        if line.startswith("listening "):
            port = line.rsplit(":", 1)[1]
        if line == "seeding":
            break
    start = time.monotonic()
    get = subprocess.Popen(["/usr/bin/python3", LT_CLIENT, "get", "--torrent", torrent,
                            "--save", out, "--peer", "127.0.0.1:%s" % port] + common,
                           stdout=subprocess.PIPE, text=True)
    done = any(line == "complete" for line in lines(get))
    elapsed = time.monotonic() - start
    for proc in (get, seed):
        proc.kill()
        proc.wait()
    shutil.rmtree(out, ignore_errors=True)
    if not done:
        raise SystemExit("lt_encryption: %s: the leecher did not complete" % mode)
    return elapsed


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    torrent, data_dir, runs, modes = argv[0], argv[1], int(argv[2]), argv[3:]
    work = tempfile.mkdtemp(prefix="shoal-lt-enc.", dir="/tmp")
    times = {mode: [] for mode in modes}
    try:
        for number in range(runs + 1):
            for mode in (modes if number % 2 == 0 else list(reversed(modes))):
                elapsed = one(torrent, data_dir, mode, work)
                print("%s run %d: %.2f s%s" % (mode, number, elapsed,
                                               " (warm-up)" if number == 0 else ""), flush=True)
                if number:
                    times[mode].append(elapsed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for mode, values in times.items():
        print("%s: median %.2f s (%.2f–%.2f)" % (mode, statistics.median(values), min(values),
                                                 max(values)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
