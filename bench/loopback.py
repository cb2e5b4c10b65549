"""Scenario 1: one seeder to one leecher over 127.0.0.1, plus the hardware
limit (bench/hwlimit.py) on the same bytes. Runs are interleaved (every pair
once, then again) so that drift in a shared machine hits all pairs alike."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

from clients import LEECHERS, PAIRS, SEEDERS

HERE = os.path.dirname(os.path.abspath(__file__))


def file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as data:
        while True:
            chunk = data.read(1 << 20)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


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
        elapsed = time.monotonic() - started
        seed_cpu = seed_proc.cpu_seconds() - seed_cpu_before
        if status != 0:
            raise RuntimeError("%s: leecher exited %s\n%s\n%s" % (
                label, status, leech.log_tail(), seed_proc.log_tail()))
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


def one_hwlimit(source, work, log_dir, run):
    out = os.path.join(work, "hwlimit.out")
    argv = [sys.executable, os.path.join(HERE, "hwlimit.py"), source, out]
    done = subprocess.run(argv, capture_output=True, timeout=600, check=True)
    os.remove(out)
    os.sync()
    with open(os.path.join(log_dir, "hwlimit-%d.out" % run), "wb") as log:
        log.write(done.stdout)
    result = json.loads(done.stdout)
    return {"seconds": result["seconds"], "cpu": result["cpu_seconds"]}


def run(setup, source, runs, work, log):
    """{"hwlimit": [run...], "seeder→leecher": [run...]} for every pair."""
    payload_name = os.path.basename(source)
    want_sha1 = file_sha1(source)
    results = {"hwlimit": []}
    for seeder, leecher in PAIRS:
        results["%s→%s" % (seeder, leecher)] = []
    for number in range(1, runs + 1):
        result = one_hwlimit(source, work, setup.log_dir, number)
        log("run %d hwlimit: %.2f s" % (number, result["seconds"]))
        results["hwlimit"].append(result)
        for seeder, leecher in PAIRS:
            result = one_transfer(setup, seeder, leecher, number, payload_name, want_sha1, work)
            log("run %d %s→%s: %.2f s, CPU leecher %.2f s seeder %.2f s" % (
                number, seeder, leecher, result["seconds"], result["leech_cpu"], result["seed_cpu"]))
            results["%s→%s" % (seeder, leecher)].append(result)
    return results
