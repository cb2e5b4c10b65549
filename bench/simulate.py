"""Scenario 4: the simulated swarm at scale.

Runs the deterministic simulator of the sans-IO core (crates/sim, binary
`sim`) with 1,000 and 10,000 peers (quick mode: 1,000) on its bandwidth model
and reads the one `result key=value ...` line it prints last: when the last
leecher completed (virtual time), the bound T = max(F/u_seed, F/d_min,
N·F/(u_seed + Σ u_leechers)), their ratio, and the simulator's own wall time.
The simulator is deterministic, so one run per size is enough for the
virtual times; its wall time is whatever this machine gave it.
"""

import os
import subprocess
import time

# Generous bound per run: a regression must not wedge the suite.
RUN_TIMEOUT_S = 1200


def parse_result(output):
    """The key=value pairs of the last `result` line, numbers as floats."""
    for line in reversed(output.splitlines()):
        if line.startswith("result "):
            fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
            return {k: float(v) for k, v in fields.items()}
    raise ValueError("no `result` line in the simulator's output")


def run(sim, quick, log):
    rows = []
    for peers in ([1000] if quick else [1000, 10000]):
        log("scenario 4: simulator, %d peers" % peers)
        started = time.monotonic()
        try:
            # Huge pages for the heap: the run is bound by cache and TLB misses, one per
            # event (a fifth less CPU at 10,000 peers); glibc ignores it where unsupported.
            env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.hugetlb=1")
            done = subprocess.run([sim, "--peers", str(peers), "--fast"], env=env,
                                  capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            row = parse_result(done.stdout)
            if done.returncode != 0:
                row["error"] = "exit %d (not every leecher completed)" % done.returncode
        except (subprocess.TimeoutExpired, ValueError) as e:
            row = {"error": str(e).splitlines()[0]}
        row["peers"] = peers
        row["process_wall_s"] = time.monotonic() - started
        rows.append(row)
    return rows


def report_text(rows, command_hint):
    lines = [
        "The deterministic simulator of the sans-IO engine (`%s`): 4 MiB of content in "
        "64 KiB pieces, one seeder with 2 MB/s of upload, leechers with 1 MB/s up and "
        "4 MB/s down, 20 ms latency, all leechers starting together. Times are virtual "
        "(the model's clock); the wall time is the simulator's own run on this machine. "
        "Bound T = max(F/u_seed, F/d_min, N·F/(u_seed + Σ u_leechers))." % command_hint,
        "",
        "| peers | last leecher s | mean leecher s | bound s | × bound | upload capacity used | simulator wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "last_s" not in r:
            lines.append("| %d | failed: %s | | | | | %.0f |" % (
                r["peers"], r.get("error", "?").replace("|", "/"), r["process_wall_s"]))
            continue
        lines.append("| %d | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.0f |" % (
            r["peers"], r["last_s"], r.get("mean_s", float("nan")), r["bound_s"],
            r["ratio"], 100 * r.get("upload_use", float("nan")), r["process_wall_s"]))
    return "\n".join(lines)
