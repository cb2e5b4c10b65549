"""Scenario 2: making a .torrent of one large file (1 MiB pieces) with
`shoal create`, `mktorrent` on all cores and `transmission-create`, next to
the speed of SHA-1 on one core (openssl, and Python's hashlib over the same
file in page cache)."""

import hashlib
import os
import re
import subprocess
import time

from procs import run_measured

PIECE = 1 << 20


def tools(shoal, source, out, cores):
    return {
        "shoal create": [shoal, "create", source, "-o", out, "--piece-length", "1M", "--quiet"],
        "mktorrent -t %d" % cores: ["mktorrent", "-t", str(cores), "-l", "20", "-o", out, source],
        "transmission-create": ["transmission-create", "-s", "1024", "-o", out, source],
    }


def hashlib_one_core(source):
    """(seconds, CPU seconds) to SHA-1 every 1 MiB piece of the file."""
    cpu = time.process_time()
    started = time.monotonic()
    with open(source, "rb", buffering=0) as data:
        buffer = bytearray(PIECE)
        view = memoryview(buffer)
        while True:
            got = data.readinto(buffer)
            if not got:
                break
            hashlib.sha1(view[:got]).digest()
    return time.monotonic() - started, time.process_time() - cpu


def openssl_sha1_mb_per_s():
    """openssl's one-core SHA-1 rate on 1 MiB blocks, in 10^6 bytes/s."""
    done = subprocess.run(
        ["openssl", "speed", "-evp", "sha1", "-bytes", str(PIECE), "-seconds", "3"],
        capture_output=True, text=True, timeout=60, check=True)
    # The result line ends with the rate for the one block size, in 1000s of bytes/s.
    for line in done.stdout.splitlines():
        match = re.match(r"^sha1\s+([\d.]+)k\s*$", line.strip())
        if match:
            return float(match.group(1)) / 1000.0
    raise RuntimeError("no rate in `openssl speed` output:\n" + done.stdout)


def run(shoal, source, runs, work, log_dir, log):
    cores = os.cpu_count() or 1
    out = os.path.join(work, "created.torrent")
    results = {}
    for number in range(1, runs + 1):
        for name, argv in tools(shoal, source, out, cores).items():
            if os.path.exists(out):
                os.remove(out)
            label = "create-%s-%d" % (name.split()[0], number)
            seconds, cpu = run_measured(label, argv, log_dir, timeout=900)
            log("run %d %s: %.2f s, CPU %.2f s" % (number, name, seconds, cpu))
            results.setdefault(name, []).append({"seconds": seconds, "cpu": cpu})
        seconds, cpu = hashlib_one_core(source)
        log("run %d hashlib SHA-1 one core: %.2f s" % (number, seconds))
        results.setdefault("SHA-1, one core (Python hashlib, page cache)", []).append(
            {"seconds": seconds, "cpu": cpu})
    openssl = openssl_sha1_mb_per_s()
    log("openssl SHA-1 one core: %.0f MB/s" % openssl)
    return results, openssl
