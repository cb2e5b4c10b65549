"""Scenario 1: one seeder to one leecher over 127.0.0.1, plus the hardware
limit (the `hwlimit` program, bench/hwlimit) on the same bytes. Runs are
interleaved (every pair once, then again) so that drift in a shared machine
hits all pairs alike.

Timing rule, the same for every row: the clock starts when the leecher (or
`hwlimit`) is started and stops once it has reported completion (for these
clients: exited 0 after verifying every piece) AND the harness's own fsync of
the downloaded file has returned. Clients that fsync themselves (shoal) pay
little for the second one; clients that leave dirty pages behind (libtorrent,
aria2) pay for writing them here, so every row measures durable data.
`hwlimit` runs with --no-fsync for that reason: its one fsync is the harness's."""

import hashlib
import json
import os
import shutil
import time

from clients import LEECHERS, PAIRS, SEEDERS
from procs import Proc

PIECE = 1 << 20


def file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as data:
        while True:
            chunk = data.read(1 << 20)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


def pieces_sha1(path):
    """SHA-1 of the concatenated 1 MiB piece digests (what hwlimit prints)."""
    digests = hashlib.sha1()
    with open(path, "rb") as data:
        while True:
            chunk = data.read(PIECE)
            if not chunk:
                return digests.hexdigest()
            digests.update(hashlib.sha1(chunk).digest())


def fsync_file(path):
    """Part of every timed period: the downloaded bytes are on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def one_transfer(setup, seeder, leecher, run, payload_name, want_sha1, work):
    label = "%s-to-%s-%d" % (seeder, leecher, run)
    out_dir = os.path.join(work, "leech-" + label)
    os.makedirs(out_dir)
    seed_proc, addr = SEEDERS[seeder](setup, label + "-seed")
    try:
        seed_cpu_before = seed_proc.cpu_seconds()
        started = time.monotonic()
        leech = LEECHERS[leecher](setup, label + "-leech", out_dir, addr)
        while True:
            status = leech.wait(0.2)
            seed_proc.sample_memory()
            if status is not None:
                break
            if time.monotonic() - started > setup.transfer_timeout:
                leech.kill()
                raise RuntimeError("%s: no completion in %ss\n%s\n%s" % (
                    label, setup.transfer_timeout, leech.log_tail(), seed_proc.log_tail()))
        if status != 0:
            raise RuntimeError("%s: leecher exited %s\n%s\n%s" % (
                label, status, leech.log_tail(), seed_proc.log_tail()))
        fsync_file(os.path.join(out_dir, payload_name))
        elapsed = time.monotonic() - started
        seed_cpu = seed_proc.cpu_seconds() - seed_cpu_before
        seed_rss = seed_proc.peak_rss_kib()
    finally:
        seed_proc.kill()
    got = file_sha1(os.path.join(out_dir, payload_name))
    if got != want_sha1:
        raise RuntimeError("%s: downloaded data differs from the source" % label)
    shutil.rmtree(out_dir)
    os.sync()  # the next run starts with no dirty pages left by this one
    return {
        "seconds": elapsed,
        "leech_cpu": leech.cpu_seconds(),
        "seed_cpu": seed_cpu,
        "leech_rss_kib": leech.peak_rss_kib(),
        "leech_anon_kib": leech.peak_anon_kib,
        "seed_rss_kib": seed_rss,
        "seed_anon_kib": seed_proc.peak_anon_kib,
    }


def one_hwlimit(hwlimit, source, want_pieces_sha1, work, log_dir, run):
    """The hardware limit, timed like a leecher: start to exit plus fsync."""
    out = os.path.join(work, "hwlimit.out")
    started = time.monotonic()
    proc = Proc("hwlimit-%d" % run, [hwlimit, source, out, "--no-fsync"], log_dir)
    status = proc.wait(600)
    if status != 0:
        proc.kill()
        raise RuntimeError("hwlimit exited %s\n%s" % (status, proc.log_tail()))
    fsync_file(out)
    elapsed = time.monotonic() - started
    result = json.loads(proc.output())
    if result["pieces_sha1"] != want_pieces_sha1:
        raise RuntimeError("hwlimit: received bytes differ from the source")
    os.remove(out)
    os.sync()
    proc.kill()  # already reaped; drops it from the list of running children
    return {"seconds": elapsed, "cpu": proc.cpu_seconds(), "peak_rss_kib": proc.peak_rss_kib()}


def run(setup, hwlimit, source, runs, work, log):
    """{"hwlimit": [run...], "seeder→leecher": [run...]} for every pair."""
    payload_name = os.path.basename(source)
    want_sha1 = file_sha1(source)
    want_pieces_sha1 = pieces_sha1(source)
    results = {"hwlimit": []}
    for seeder, leecher in PAIRS:
        results["%s→%s" % (seeder, leecher)] = []
    for number in range(1, runs + 1):
        result = one_hwlimit(hwlimit, source, want_pieces_sha1, work, setup.log_dir, number)
        log("run %d hwlimit: %.2f s" % (number, result["seconds"]))
        results["hwlimit"].append(result)
        for seeder, leecher in PAIRS:
            result = one_transfer(setup, seeder, leecher, number, payload_name, want_sha1, work)
            log("run %d %s→%s: %.2f s, CPU leecher %.2f s seeder %.2f s" % (
                number, seeder, leecher, result["seconds"], result["leech_cpu"], result["seed_cpu"]))
            results["%s→%s" % (seeder, leecher)].append(result)
    return results
