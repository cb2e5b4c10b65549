"""Writes docs/benchmarks.md from one run's results: the command, the
machine, and a table per scenario with medians and min–max."""

import ctypes
import datetime
import mmap
import os
import platform
import statistics
import subprocess
import tempfile
import time

from loopback import SLOW_SEEDER_RUNS

GIB = 1 << 30
MIB = 1 << 20
# Bytes written by each of the machine probes below.
PROBE_BYTES = 256 * MIB


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        mem_kib = int(meminfo.readline().split()[1])
    text = "%d × %s, %.1f GiB RAM, Linux %s" % (
        os.cpu_count(), model, mem_kib / (1 << 20), platform.release())
    speeds = memory_speeds()
    if speeds:
        text += ("; writing memory: %.1f GB/s to fresh pages (first touch: page fault and "
                 "zeroing), %.1f GB/s to pages already touched" % speeds)
    disk = disk_write_speed()
    if disk:
        text += "; writing %d MiB to a file in /tmp and fdatasync: %.0f MB/s" % (
            PROBE_BYTES // MIB, disk)
    return text


def disk_write_speed(size=PROBE_BYTES):
    """MB/s of writing `size` bytes to a new file where the suite works (/tmp) and making
    them durable: every loopback row ends with its download on disk, so a slow disk caps
    them all, the hardware limit included."""
    chunk = b"\x5a" * (1 << 20)
    try:
        with tempfile.NamedTemporaryFile(prefix="shoal-bench-disk-", dir="/tmp") as out:
            start = time.perf_counter()
            for _ in range(size // len(chunk)):
                out.write(chunk)
            out.flush()
            os.fdatasync(out.fileno())
            return size / (time.perf_counter() - start) / 1e6
    except OSError:
        return None


def memory_speeds(size=PROBE_BYTES, runs=3):
    """Median GB/s of memset over fresh private anonymous pages and then over the same pages
    again.

    Every leecher puts the whole download into newly allocated page-cache pages, so a machine
    whose first touch of a page is slow (seen on a VM: 0.7–1.0 GB/s against 17 GB/s over
    touched pages) lowers the hardware limit and every loopback row with it; this line lets
    a reader tell such a run apart."""
    fresh, warm = [], []
    try:
        for _ in range(runs):
            area = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
            buf = (ctypes.c_char * size).from_buffer(area)
            start = time.perf_counter()
            ctypes.memset(buf, 1, size)
            fresh.append(size / (time.perf_counter() - start) / 1e9)
            start = time.perf_counter()
            ctypes.memset(buf, 2, size)
            warm.append(size / (time.perf_counter() - start) / 1e9)
            del buf
            area.close()
    except (OSError, ValueError, BufferError):
        return None
    return statistics.median(fresh), statistics.median(warm)


def versions(shoal, rqbit):
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    return {
        "shoal": first_line([shoal, "--version"]),
        "libtorrent": "libtorrent " + first_line(
            ["/usr/bin/python3", "-c", "import libtorrent; print(libtorrent.__version__)"]),
        "rqbit": first_line([rqbit, "--version"]) if rqbit else "rqbit (not installed)",
        "aria2": first_line(["aria2c", "--version"]),
        "transmission-daemon": first_line(["transmission-daemon", "-V"]),
        "mktorrent": first_line(["mktorrent", "-h"]),
        "transmission-create": first_line(["transmission-create", "-V"]),
        "openssl": first_line(["openssl", "version"]),
    }


def spread(values, fmt):
    """'median (min–max)' of the values."""
    values = sorted(values)
    return ("%s (%s–%s)" % (fmt, fmt, fmt)) % (statistics.median(values), values[0], values[-1])


HOW = {
    "direct": "peer given",
    "tracker": "tracker",
    "namespace": "tracker, in a namespace",
}


def ok_runs(runs):
    return [r for r in runs if "error" not in r]


def runs_cell(runs, good):
    if len(good) == len(runs):
        return "%d" % len(runs)
    return "%d of %d (%s)" % (len(good), len(runs),
                              next(r["error"] for r in runs if "error" in r).replace("|", "/"))


def warmup_cell(warmup, name):
    done = ok_runs(warmup.get(name, []))
    return "%.2f" % done[0]["durable_s"] if done else ""


def loopback_table(results, size, hows):
    """Time and CPU per row, both views: to reported completion and to durable data."""
    gib = size / GIB
    rows, warmup = results["rows"], results["warmup"]
    hw = ok_runs(rows["hwlimit"])
    hw_durable = statistics.median(r["durable_s"] for r in hw)
    lines = [
        "| seeder → leecher | meet by | runs | completion s | completion MB/s | durable s "
        "| durable MB/s | durable, % of hw limit | leecher CPU s/GiB | seeder CPU s/GiB "
        "| both sides CPU s/GiB | warm-up durable s (not counted) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines.append("| hardware limit (bench/hwlimit) | one TCP connection | %d | %s | %s | %s | %s "
                 "| 100 | %s (receiving thread) | %s (sending thread) | %s | %s |" % (
                     len(hw), spread([r["completion_s"] for r in hw], "%.2f"),
                     spread([size / r["completion_s"] / 1e6 for r in hw], "%.0f"),
                     spread([r["durable_s"] for r in hw], "%.2f"),
                     spread([size / r["durable_s"] / 1e6 for r in hw], "%.0f"),
                     spread([r["receiver_cpu"] / gib for r in hw], "%.2f"),
                     spread([r["sender_cpu"] / gib for r in hw], "%.2f"),
                     spread([r["cpu"] / gib for r in hw], "%.2f"),
                     warmup_cell(warmup, "hwlimit")))
    for pair, runs in rows.items():
        if pair == "hwlimit":
            continue
        good = ok_runs(runs)
        how = HOW.get(hows.get(pair), "")
        if not good:
            lines.append("| %s | %s | failed: %s | | | | | | | | | |" % (
                pair, how, runs[0]["error"].replace("|", "/")))
            continue
        # A leecher still running at the durable point (libtorrent, Transmission) is read
        # from /proc; the others from wait4 once they exited.
        mark = "" if all(r["leech_cpu_exact"] for r in good) else " ‡"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %.0f | %s%s | %s | %s | %s |" % (
            pair, how, runs_cell(runs, good),
            spread([r["completion_s"] for r in good], "%.2f"),
            spread([size / r["completion_s"] / 1e6 for r in good], "%.0f"),
            spread([r["durable_s"] for r in good], "%.2f"),
            spread([size / r["durable_s"] / 1e6 for r in good], "%.0f"),
            100 * hw_durable / statistics.median(r["durable_s"] for r in good),
            spread([r["leech_cpu"] / gib for r in good], "%.2f"), mark,
            spread([r["seed_cpu"] / gib for r in good], "%.2f"),
            spread([(r["leech_cpu"] + r["seed_cpu"]) / gib for r in good], "%.2f"),
            warmup_cell(warmup, pair)))
    return "\n".join(lines)


def memory_table(results):
    lines = [
        "| seeder → leecher | leecher peak RSS MiB | leecher peak anon MiB | seeder peak RSS MiB "
        "| seeder peak anon MiB |",
        "|---|---|---|---|---|",
    ]
    for pair, runs in results["rows"].items():
        good = ok_runs(runs)
        if pair == "hwlimit":
            lines.append("| hardware limit (bench/hwlimit) | %s (both threads) | | | |" % spread(
                [r["peak_rss_kib"] / 1024 for r in good], "%.0f"))
            continue
        if not good:
            continue
        lines.append("| %s | %s | %s | %s | %s |" % (
            pair, spread([r["leech_rss_kib"] / 1024 for r in good], "%.0f"),
            spread([r["leech_anon_kib"] / 1024 for r in good], "%.0f"),
            spread([r["seed_rss_kib"] / 1024 for r in good], "%.0f"),
            spread([r["seed_anon_kib"] / 1024 for r in good], "%.0f")))
    return "\n".join(lines)


def ratios_table(results):
    """shoal→shoal against every other client's pair with itself: how many times as fast
    (ratio of the medians) to completion and to durable data, and its CPU as a multiple of
    theirs (both sides, and the leecher alone)."""
    rows = results["rows"]
    ours = ok_runs(rows.get("shoal→shoal", []))
    if not ours:
        return "(shoal→shoal has no successful run.)"

    def median(runs, key):
        return statistics.median(key(r) for r in runs)

    lines = ["| shoal→shoal against | × as fast to completion | × as fast to durable data "
             "| × the CPU, both sides | × the CPU, leecher |",
             "|---|---|---|---|---|"]
    hw = ok_runs(rows["hwlimit"])
    if hw:
        lines.append("| hardware limit | %.2f | %.2f | %.2f | %.2f |" % (
            median(hw, lambda r: r["completion_s"]) / median(ours, lambda r: r["completion_s"]),
            median(hw, lambda r: r["durable_s"]) / median(ours, lambda r: r["durable_s"]),
            median(ours, lambda r: r["leech_cpu"] + r["seed_cpu"]) / median(hw, lambda r: r["cpu"]),
            median(ours, lambda r: r["leech_cpu"]) / median(hw, lambda r: r["receiver_cpu"])))
    for pair, runs in rows.items():
        client = pair.split("→")[0]
        theirs = ok_runs(runs)
        if pair in ("hwlimit", "shoal→shoal") or pair != "%s→%s" % (client, client) or not theirs:
            continue
        lines.append("| %s | %.2f | %.2f | %.2f | %.2f |" % (
            pair,
            median(theirs, lambda r: r["completion_s"]) / median(ours, lambda r: r["completion_s"]),
            median(theirs, lambda r: r["durable_s"]) / median(ours, lambda r: r["durable_s"]),
            median(ours, lambda r: r["leech_cpu"] + r["seed_cpu"])
            / median(theirs, lambda r: r["leech_cpu"] + r["seed_cpu"]),
            median(ours, lambda r: r["leech_cpu"]) / median(theirs, lambda r: r["leech_cpu"])))
    return "\n".join(lines)


def create_table(results, openssl, size):
    rows = ["| tool | wall s | MB/s | CPU s | × one-core SHA-1 (openssl) |", "|---|---|---|---|---|"]
    for name, runs in results.items():
        rates = [size / r["seconds"] / 1e6 for r in runs]
        rows.append("| %s | %s | %s | %s | %.2f |" % (
            name, spread([r["seconds"] for r in runs], "%.2f"), spread(rates, "%.0f"),
            spread([r["cpu"] for r in runs], "%.2f"), statistics.median(rates) / openssl))
    rows.append("| SHA-1, one core (`openssl speed -evp sha1 -bytes 1048576`) | | %.0f | | 1.00 |" % openssl)
    return "\n".join(rows)


TEMPLATE = """# Benchmarks

Generated by `{command}` on {date}. {mode_note}

Machine: {machine}.
Versions: {versions}.

These machines are shared and noisy: read the ratios between rows of one
run, not the absolute figures. Every figure is the median of the runs with
the minimum–maximum in brackets: {runs_text}. Runs are interleaved (every
row once, then again, every other round in reverse order) so that drift, and
whatever one transfer leaves behind for the next, hits all rows alike. MB/s is
10^6 bytes per second.

## 1. Loopback, one seeder to one leecher

{size_text} of random data in one file, 1 MiB pieces, one seeder and one
leecher on the same machine.

**Runs.** A warm-up round runs first and is not counted: the payload has
just been written, so the first transfers after it meet the page cache in
another state than every later one (the warm-up's durable times are in the
last column, for comparison). It leaves out the Transmission pairs, which are paced by
Transmission (below). Then {loopback_runs} counted rounds, interleaved; the
runs column says how many runs each row has.

**Every client runs as its users run it**: its own defaults for disk and
cache, and no call a user's client would not make (the libtorrent leecher does
not flush libtorrent's cache at completion, as no qBittorrent or Deluge session
does). shoal, rqbit and aria2 run as one-shot downloaders, started when the
clock starts, that exit once complete. The libtorrent leecher stands for a
libtorrent-based client: its session (Python, the libtorrent module, a session
listening on 127.0.0.1) is already running when the clock starts, which is when
it is told to add the torrent (as a user adds one to a running qBittorrent or
Deluge); it goes on seeding after completion until the harness stops it after
the durable point. Transmission's daemon is started with the clock.

**Two times per row, the same rule for every row.** The seeder is started
first and the clock starts only once it listens and has finished checking its
data (and, where a tracker is used, has announced). *Completion* is when the
leecher reports the data complete and verified, as it tells its user: shoal,
rqbit and aria2 exit 0 (the harness wakes at the exit through a pidfd), the
libtorrent leecher prints `complete` once libtorrent reports the torrent
finished (`is_seeding`; the harness reads its output every 10 ms),
Transmission's `Percent Done` reaches 100% (polled every 0.1 s). *Durable*
is when the harness's own fsync of the downloaded file, called right after
completion, has returned: clients that fsync before they report (shoal) pay
little for it, clients that leave dirty pages behind pay for writing them
there; the gap between the two columns shows which is which. The hardware limit is timed the same way:
completion when it exits (it runs with `--no-fsync`), durable after the
harness's fsync. After the durable point the sides are stopped and the
download is compared with the source (untimed).

**How the leecher meets the seeder** ("meet by"): *peer given*: the leecher is
handed the seeder's 127.0.0.1 address. aria2 cannot be handed a peer, so as a
leecher it finds the seeder through a local opentracker (*tracker*, on
127.0.0.1; a fresh tracker per transfer, announced to by the seeder before the
clock starts). libtorrent as a leecher meets it the same way: it dials a peer
it is handed (`connect_peer`) only at its once-a-second tick, 0–1 s after the
torrent is added, but connects to the peers of a tracker reply at once. Transmission never dials
127.0.0.0/8, so with Transmission as the leecher both sides and the tracker run
in a network namespace made for the benchmark, on 10.99.0.1 (seeder, tracker)
and 10.99.0.2 (leecher) added to that namespace's loopback device (*tracker, in
a namespace*; Transmission also will not dial a peer with its own address):
the bytes still go through the loopback device, only the addresses differ. As a seeder on
127.0.0.1 Transmission is simply dialed. Transmission unchokes a new peer only
at its next rechoke (about every 10 s). As a leecher, Transmission 3.00 takes
at most about 8.4 MB/s from one peer here (a limit of Transmission 3, lifted in
its version 4; the same with and without encryption), so the pairs with
Transmission as the leecher run once per suite with three times the usual
bound on a transfer, and those with Transmission as the seeder (over 80 s per
GiB) at most {slow_seeder_runs} times.

**CPU** is user + system time of the whole process (all threads), per GiB
moved, from the clock's start to the durable point. The leecher's is exact
(wait4's rusage) for the leechers started with the clock that have exited by
then (shoal, rqbit, aria2), and read from /proc (10 ms clock ticks) at both
ends for the others (libtorrent, Transmission: their cells are marked ‡). The
seeder's is read from /proc at both ends. The source file is in page cache;
`sync` runs between transfers, and each transfer waits (up to 20 s) for a quiet
machine first.

The hardware limit is `bench/hwlimit` (a small Rust program): the same file
sent with sendfile(2) through one loopback TCP connection into a receiver that
SHA-1-hashes every 1 MiB piece and writes it with positioned writes, receiving
and hashing+writing on two threads so both cores can work. Its CPU is split by
thread: the receiving side (receive, SHA-1, write) is what any leecher must
spend and sits in the leecher column; the sending thread (sendfile) sits in the
seeder column.

{loopback_table}

shoal→shoal against the hardware limit and each client's pair with itself
(ratios of the medians above; above 1 in the first two columns: shoal is
faster; below 1 in the last two: shoal uses less CPU):

{ratios_table}

Memory: peak RSS is the kernel's high-water mark of the process (VmHWM), as
last read while it ran (every 50 ms); peak anonymous memory is the highest
RssAnon seen in those samples. Resident memory counts file pages a client maps
(libtorrent maps the data files), so compare peak anonymous memory for what a
client allocates.

{memory_table}

{charts}

{large}

## 2. Creating a torrent

{create}

## 3. Swarm across network namespaces

{swarm}

## 4. Simulated swarm at scale

{simulation}

## 5. Transports and encryption

uTP with LEDBAT, and Message Stream Encryption, are measured by `bench/transports.py`
(1 GiB over loopback, shoal and libtorrent pairs in each transport and encryption setting)
and `bench/ledbat.py` (a uTP upload through an emulated 20 Mbit/s home uplink beside a TCP
flow), run on their own rather than by this suite; their latest figures are in
[benchmarks-transports.md](benchmarks-transports.md).

## Reading these figures

What each target of issue 3 came to, and the profiles behind every miss, are in
[performance.md](performance.md) (written by hand; this file is regenerated).
"""

CREATE_TEMPLATE = """`shoal create`, `mktorrent -t <all cores>` and `transmission-create` on a
{size_text} file of random data (in page cache), 1 MiB pieces, against
SHA-1 on one core.

{table}"""

NOT_RUN = "(Not run in this invocation.)"


def chart_links(charts):
    if not charts:
        return "(No charts: matplotlib was not available.)"
    return "\n\n".join("![%s](%s)" % (title, name) for name, title in charts)


def size_words(size):
    return "%d MiB" % (size // MIB) if size < GIB else "%g GiB" % (size / GIB)


def large_text(large, hows):
    """Scenario 1 on the large payload: the direct self-pairs only."""
    size, results, runs = large
    if not results:
        return "(Not run: `--quick`, `--large-mib 0` or `--only`.)"
    return LARGE_TEMPLATE.format(size_text=size_words(size), runs=runs,
                                 table=loopback_table(results, size, hows),
                                 ratios=ratios_table(results))


LARGE_TEMPLATE = """### {size_text}

The same measurement on {size_text} of random data: the hardware limit and the
pairs of shoal, libtorrent and rqbit with themselves, a warm-up round and
{runs} interleaved runs each. The other pairs are left to the table above:
Transmission's leecher alone would need more than eight minutes per run at this
size.

{table}

{ratios}"""


def loopback_text(results, size, hows):
    """The parts of section 1 made from the results (all NOT_RUN without them)."""
    if not results:
        return {"loopback_table": NOT_RUN, "ratios_table": NOT_RUN, "memory_table": NOT_RUN}
    return {"loopback_table": loopback_table(results, size, hows),
            "ratios_table": ratios_table(results),
            "memory_table": memory_table(results)}


def write(path, command, quick, runs, size, shoal, rqbit, loopback, hows, large, create,
          swarm_text, charts, simulation_text):
    """`runs` is (counted loopback runs, runs of scenarios 2 and 3); `create` is (results,
    openssl MB/s, whether it ran on the main payload rather than the large one)."""
    loopback_runs, other_runs = runs
    size_text = size_words(size)
    create_results, openssl, on_main = create
    mode_note = ("**Quick-mode figures** (`--quick`: %s payload, smaller swarms)." % size_text
                 if quick else "Full mode.")
    if create_results:
        create_size = size if on_main else large[0]
        create = CREATE_TEMPLATE.format(size_text=size_words(create_size),
                                        table=create_table(create_results, openssl, create_size))
    else:
        create = NOT_RUN
    text = TEMPLATE.format(
        command=command,
        date=datetime.date.today().isoformat(),
        mode_note=mode_note,
        machine=machine(),
        versions="; ".join("%s" % v for v in versions(shoal, rqbit).values()),
        runs_text=("scenario 1 has a warm-up round and %d counted runs at %s (fewer for "
                   "the Transmission pairs, see there), scenarios 2 and 3 have %d runs"
                   % (loopback_runs, size_text, other_runs)),
        loopback_runs=loopback_runs,
        slow_seeder_runs=SLOW_SEEDER_RUNS,
        size_text=size_text,
        large=large_text(large, hows),
        charts=chart_links(charts),
        create=create,
        swarm=swarm_text,
        simulation=simulation_text or NOT_RUN,
        **loopback_text(loopback, size, hows),
    )
    with open(path, "w") as out:
        out.write(text)
