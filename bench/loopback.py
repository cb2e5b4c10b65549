"""Scenario 1: one seeder to one leecher over 127.0.0.1, plus the hardware
limit (the `hwlimit` program, bench/hwlimit) on the same bytes. A warm-up
round runs first and is not counted (the payload was just written: the page
cache is not yet in the state every later round finds it in). Then runs are
interleaved (every pair once, then again, every other round in reverse order)
so that drift in a shared machine, and whatever one transfer leaves behind for
the next, hits all pairs alike.

Two times per run, the same rule for every row. The clock starts when the
leecher (or `hwlimit`) is started, or for a leecher whose session runs already
(libtorrent, see clients.py) when it is told to add the torrent. *Completion* is when the leecher reports
the data complete and verified, as the client tells its user (clients.py:
exiting 0, a `complete` line, Transmission's `Percent Done`). *Durable* is
when the harness's own fsync of the downloaded file, called right after
completion, has returned: clients that fsync before they report (shoal) pay
little for it, clients that leave dirty pages behind (libtorrent, aria2) pay
for writing them there. `hwlimit` runs with --no-fsync for that reason: its
one fsync is the harness's.

CPU is user + system time of each side from the clock's start to the durable
point: the leecher's exact (wait4's rusage) when it was started with the clock
and has exited by then, else from /proc in clock ticks; the seeder's from
/proc."""

import hashlib
import json
import os
import shutil
import subprocess
import time

from clients import DIRECT, LEECHERS, PAIRS, SEEDERS
from procs import SAMPLE_INTERVAL, Proc, wait_machine_quiet
from tracker import Tracker

PIECE = 1 << 20
# Longest wait for a quiet machine before each timed transfer, in seconds.
QUIET_TIMEOUT = 20
# How often a transfer's completion is checked, in seconds (an exit wakes the harness
# at once; a completion line or Transmission's RPC is seen within this).
COMPLETION_POLL = 0.01


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
    """The end of the durable period: the downloaded bytes are on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Ways:
    """For each way of meeting (clients.DIRECT/TRACKER/NAMESPACE): the network,
    the torrent (with the matching announce URL) and the tracker port."""

    def __init__(self, info_hash):
        self.info_hash = info_hash
        self.ways = {}

    def add(self, how, net, torrent, tracker_port):
        self.ways[how] = (net, torrent, tracker_port)

    def get(self, how):
        if how not in self.ways:
            raise RuntimeError("not available here: %s" % how)
        return self.ways[how]


def one_transfer(setup, ways, pair, run, payload_name, want_sha1):
    """One timed transfer, its download checked against the source (untimed)."""
    label = "%s-to-%s-%s" % (pair[0], pair[1], run)
    out_dir = os.path.join(setup.work, "leech-" + label)
    os.makedirs(out_dir)
    try:
        result = measure(setup, ways, pair, label, out_dir, os.path.join(out_dir, payload_name))
        # After the sides stopped: a daemon (Transmission) has written out its cache.
        if file_sha1(os.path.join(out_dir, payload_name)) != want_sha1:
            raise RuntimeError("%s: downloaded data differs from the source" % label)
        return result
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
        os.sync()  # the next run starts with no dirty pages left by this one


def measure(setup, ways, pair, label, out_dir, out_file):
    seeder, leecher, how = pair
    net, torrent, tracker_port = ways.get(how)
    timeout = setup.transfer_timeout * (SLOW_LEECHER_TIMEOUT_FACTOR if is_slow(pair) else 1)
    tracker = seed = leech = waiting = None
    try:
        if tracker_port is not None:
            tracker = Tracker(net, tracker_port, ways.info_hash, setup.work, label + "-tracker",
                              setup.log_dir)
        seed = SEEDERS[seeder](setup, net, label + "-seed", torrent)
        if tracker is not None:
            tracker.wait_seeder(seed.proc)
        peer = seed.addr if how == DIRECT else None
        waiting = LEECHERS[leecher](setup, net, label + "-leech", torrent, out_dir, peer)
        wait_machine_quiet(QUIET_TIMEOUT)
        seed_cpu_before = seed.proc.cpu_seconds()
        leech_cpu_before = waiting.cpu_before_start()
        started = time.monotonic()
        leech = waiting.start()
        next_sample = started
        while True:
            status = leech.finished()
            if status is not None:
                break
            now = time.monotonic()
            if now >= next_sample:
                leech.proc.sample_memory()
                seed.proc.sample_memory()
                next_sample = now + SAMPLE_INTERVAL
            if now - started > timeout:
                raise RuntimeError("%s: no completion in %ss\n%s\n%s" % (
                    label, timeout, leech.proc.log_tail(), seed.proc.log_tail()))
            leech.proc.wait_exit(COMPLETION_POLL)
        completed = time.monotonic()
        if status != 0:
            raise RuntimeError("%s: leecher exited %s\n%s\n%s" % (
                label, status, leech.proc.log_tail(), seed.proc.log_tail()))
        fsync_file(out_file)
        durable = time.monotonic()
        seed_cpu = seed.proc.cpu_seconds() - seed_cpu_before
        leech.proc.poll()  # reaped if it has exited since: its rusage is exact
        leech_cpu = leech.proc.cpu_seconds() - leech_cpu_before
        return {
            "completion_s": completed - started,
            "durable_s": durable - started,
            "leech_cpu": leech_cpu,
            "leech_cpu_exact": leech.proc.cpu_exact(),
            "seed_cpu": seed_cpu,
            "leech_rss_kib": leech.proc.peak_rss_kib(),
            "leech_anon_kib": leech.proc.peak_anon_kib,
            "seed_rss_kib": seed.proc.peak_rss_kib(),
            "seed_anon_kib": seed.proc.peak_anon_kib,
        }
    finally:
        for side in (leech or waiting, seed):
            if side is not None:
                side.stop()
        if tracker is not None:
            tracker.kill()


def one_hwlimit(hwlimit, source, want_pieces_sha1, work, log_dir, run):
    """The hardware limit, timed like a leecher: completion at its exit, durable once the
    harness's fsync returns."""
    out = os.path.join(work, "hwlimit.out")
    wait_machine_quiet(QUIET_TIMEOUT)
    started = time.monotonic()
    proc = Proc("hwlimit-%s" % run, [hwlimit, source, out, "--no-fsync"], log_dir)
    status = proc.wait(600)
    completed = time.monotonic()
    if status != 0:
        proc.kill()
        raise RuntimeError("hwlimit exited %s\n%s" % (status, proc.log_tail()))
    fsync_file(out)
    durable = time.monotonic()
    result = json.loads(proc.output())
    if result["pieces_sha1"] != want_pieces_sha1:
        raise RuntimeError("hwlimit: received bytes differ from the source")
    os.remove(out)
    os.sync()
    proc.kill()  # already reaped; drops it from the list of running children
    cpu = proc.cpu_seconds()
    # The sending thread's CPU is what a seeder must spend; the rest (receive,
    # SHA-1, write) is what a leecher must.
    sender_cpu = result.get("sender_cpu_seconds", float("nan"))
    return {"completion_s": completed - started, "durable_s": durable - started, "cpu": cpu,
            "sender_cpu": sender_cpu, "receiver_cpu": cpu - sender_cpu,
            "peak_rss_kib": proc.peak_rss_kib()}


# Transmission 3.00 as a leecher moves at most about 8.4 MB/s from one peer
# (measured here on loopback, with or without encryption; a limit of
# Transmission 3 that its version 4 lifted), so one 1 GiB run of such a pair
# takes over two minutes. These pairs run once per suite, are left out of the
# warm-up, and get a longer bound; the report says so.
SLOW_LEECHERS = ("transmission",)
SLOW_LEECHER_TIMEOUT_FACTOR = 3
# Transmission as a seeder waits for its next rechoke (about 10 s) and then
# uploads slowly (over 80 s for 1 GiB): its pairs are paced by Transmission,
# so they run at most this many times, and not in the warm-up, to keep the
# suite's time bounded.
SLOW_SEEDERS = ("transmission",)
SLOW_SEEDER_RUNS = 3


def is_slow(pair):
    return pair[1] in SLOW_LEECHERS


def runs_of(pair, runs):
    """How many counted runs a pair gets when the others get `runs`."""
    if pair[1] in SLOW_LEECHERS:
        return 1
    if pair[0] in SLOW_SEEDERS:
        return min(runs, SLOW_SEEDER_RUNS)
    return runs


def in_warmup(pair):
    return pair[0] not in SLOW_SEEDERS and pair[1] not in SLOW_LEECHERS


def pair_name(pair):
    return "%s→%s" % (pair[0], pair[1])


def describe(result):
    return "completion %.2f s, durable %.2f s, CPU leecher %.2f s seeder %.2f s" % (
        result["completion_s"], result["durable_s"], result["leech_cpu"], result["seed_cpu"])


def run(setup, ways, hwlimit, source, runs, log, pairs=PAIRS):
    """{"rows": {"hwlimit": [run...], "seeder→leecher": [run...]}, "warmup": {same, one
    run each}}: the counted runs of every pair, and the warm-up round's (not counted). A
    run that failed is {"error": "first line of why"}."""
    payload_name = os.path.basename(source)
    want_sha1 = file_sha1(source)
    want_pieces_sha1 = pieces_sha1(source)
    rows = {"hwlimit": []}
    for pair in pairs:
        rows[pair_name(pair)] = []
    warmup = {}
    # Round 0 is the warm-up.
    for number in range(0, runs + 1):
        # Every other round walks the rows backwards, so that no row always follows the
        # same one: a transfer can leave the disk busy (writeback, freeing the last
        # download's blocks) for whatever runs next.
        order = [None] + list(pairs)
        if number % 2 == 0 and number > 0:
            order.reverse()
        name = "warm-up" if number == 0 else "run %d" % number
        into = warmup if number == 0 else rows
        for pair in order:
            if pair is None and hwlimit is None:
                continue
            if pair is None:
                result = one_hwlimit(hwlimit, source, want_pieces_sha1, setup.work,
                                     setup.log_dir, number)
                log("%s hwlimit: completion %.2f s, durable %.2f s" % (
                    name, result["completion_s"], result["durable_s"]))
                into.setdefault("hwlimit", []).append(result)
                continue
            if number == 0 and not in_warmup(pair):
                continue
            if number > runs_of(pair, runs):
                continue
            try:
                result = one_transfer(setup, ways, pair, number, payload_name, want_sha1)
                log("%s %s: %s" % (name, pair_name(pair), describe(result)))
            except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                log("%s %s FAILED: %s" % (name, pair_name(pair), error))
                result = {"error": str(error).splitlines()[0]}
                os.sync()
            into.setdefault(pair_name(pair), []).append(result)
    return {"rows": rows, "warmup": warmup}
