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


def loopback_table(results, size, hows):
    gib = size / GIB
    hw = ok_runs(results["hwlimit"])
    hw_rate = statistics.median(size / r["seconds"] / 1e6 for r in hw)
    rows = [
        "| seeder → leecher | meet by | MB/s | wall s | % of hw limit | leecher CPU s/GiB "
        "| seeder CPU s/GiB | leecher peak RSS MiB | leecher peak anon MiB | seeder peak RSS MiB "
        "| seeder peak anon MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows.append("| hardware limit (bench/hwlimit) | one TCP connection | %s | %s | 100 | %s "
                "(receiving thread) | %s (sending thread) | %s | | | |" % (
                    spread([size / r["seconds"] / 1e6 for r in hw], "%.0f"),
                    spread([r["seconds"] for r in hw], "%.2f"),
                    spread([r["receiver_cpu"] / gib for r in hw], "%.2f"),
                    spread([r["sender_cpu"] / gib for r in hw], "%.2f"),
                    spread([r["peak_rss_kib"] / 1024 for r in hw], "%.0f")))
    for pair, runs in results.items():
        if pair == "hwlimit":
            continue
        good = ok_runs(runs)
        how = HOW.get(hows.get(pair), "")
        if not good:
            rows.append("| %s | %s | failed: %s | | | | | | | | |" % (
                pair, how, runs[0]["error"].replace("|", "/")))
            continue
        note = "" if len(good) == len(runs) else " (%d of %d runs; %s)" % (
            len(good), len(runs), next(r["error"] for r in runs if "error" in r))
        if len(runs) == 1 and len(hw) > 1:
            note += " (1 run)"
        rates = [size / r["seconds"] / 1e6 for r in good]
        rows.append("| %s%s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s |" % (
            pair, note.replace("|", "/"), how, spread(rates, "%.0f"),
            spread([r["seconds"] for r in good], "%.2f"),
            100 * statistics.median(rates) / hw_rate,
            spread([r["leech_cpu"] / gib for r in good], "%.2f"),
            spread([r["seed_cpu"] / gib for r in good], "%.2f"),
            spread([r["leech_rss_kib"] / 1024 for r in good], "%.0f"),
            spread([r["leech_anon_kib"] / 1024 for r in good], "%.0f"),
            spread([r["seed_rss_kib"] / 1024 for r in good], "%.0f"),
            spread([r["seed_anon_kib"] / 1024 for r in good], "%.0f")))
    return "\n".join(rows)


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
run, not the absolute figures. Every figure is the median of {runs} runs with
the minimum–maximum in brackets; runs are interleaved (every row once, then
again, every other round in reverse order) so that drift, and whatever one
transfer leaves behind for the next, hits all rows alike. MB/s is 10^6 bytes
per second.

## 1. Loopback, one seeder to one leecher

{size_text} of random data in one file, 1 MiB pieces, one seeder and one
leecher on the same machine.

**Timing rule, the same for every row.** The seeder is started first and the
clock starts only once it listens and has finished checking its data (and,
where a tracker is used, has announced). Wall time runs from the leecher's
start until the leecher has reported the data complete and verified (shoal,
libtorrent, rqbit and aria2 exit 0; Transmission's `Percent Done` reaches 100%,
polled every 0.1 s) **and** the harness's own fsync of the downloaded file has
returned, so every row measures durable data whether or not the client fsyncs
itself (shoal does; the others may leave dirty pages behind). The hardware
limit is timed the same way: it runs with `--no-fsync`, so the harness's fsync
is its only one. After the clock stops the sides are stopped and the download
is compared with the source (untimed).

**How the leecher meets the seeder** ("meet by"): *peer given*: the leecher is
handed the seeder's 127.0.0.1 address. aria2 cannot be handed a peer, so as a
leecher it finds the seeder through a local opentracker (*tracker*, on
127.0.0.1; a fresh tracker per transfer). Transmission never dials
127.0.0.0/8, so with Transmission as the leecher both sides and the tracker run
in a network namespace made for the benchmark, on 10.99.0.1 (seeder, tracker)
and 10.99.0.2 (leecher) added to that namespace's loopback device (*tracker, in
a namespace*; Transmission also will not dial a peer with its own address):
the bytes still go through the loopback device, only the addresses differ. As a seeder on
127.0.0.1 Transmission is simply dialed. Transmission unchokes a new peer only
at its next rechoke (about every 10 s). As a leecher, Transmission 3.00 takes
at most about 8.4 MB/s from one peer here (a limit of Transmission 3, lifted in
its version 4; the same with and without encryption), so the pairs with
Transmission as the leecher run once per suite, not once per round, with three
times the usual bound on a transfer; their rows say "1 run".

CPU seconds are user + system of the whole process (all threads): the
leecher's whole life, the seeder's during the transfer. Peak RSS is the
kernel's high-water mark of the process (VmHWM), as last read while it ran
(every 50 ms); peak anonymous memory is the highest RssAnon seen in those
samples. Resident memory counts file pages a
client maps (libtorrent maps the data files), so compare peak anonymous memory
for what a client allocates. The libtorrent rows include starting Python and a
libtorrent session. The source file is in page cache; `sync` runs between
transfers.

The hardware limit is `bench/hwlimit` (a small Rust program): the same file
sent with sendfile(2) through one loopback TCP connection into a receiver that
SHA-1-hashes every 1 MiB piece and writes it with positioned writes, receiving
and hashing+writing on two threads so both cores can work. Its CPU is split by
thread: the receiving side (receive, SHA-1, write) is what any leecher must
spend and sits in the leecher column; the sending thread (sendfile) sits in the
seeder column.

{loopback_table}

{charts}

{large}

## 2. Creating a torrent

`shoal create`, `mktorrent -t <all cores>` and `transmission-create` on a
{create_size_text} file of random data (in page cache), 1 MiB pieces, against
SHA-1 on one core.

{create_table}

## 3. Swarm across network namespaces

{swarm}

## 4. Simulated swarm at scale

{simulation}

## Reading these figures

What each target of issue 3 came to, and the profiles behind every miss, are in
[performance.md](performance.md) (written by hand; this file is regenerated).
"""


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
        return "(Not run: `--quick`, or `--large-mib 0`.)"
    return LARGE_TEMPLATE.format(size_text=size_words(size), runs=runs,
                                 table=loopback_table(results, size, hows))


LARGE_TEMPLATE = """### {size_text}

The same measurement on {size_text} of random data: the hardware limit and the
pairs of each client with itself that meet by a given peer, {runs} interleaved
runs each. The other pairs are left to the table above: Transmission's leecher
alone would need more than eight minutes per run at this size.

{table}"""


def write(path, command, quick, runs, size, shoal, rqbit, loopback, hows, large, create, openssl,
          swarm_text, charts, simulation_text):
    size_text = size_words(size)
    create_size = large[0] if large[1] else size
    mode_note = ("**Quick-mode figures** (`--quick`: %s payload, smaller swarms)." % size_text
                 if quick else "Full mode.")
    text = TEMPLATE.format(
        command=command,
        date=datetime.date.today().isoformat(),
        mode_note=mode_note,
        machine=machine(),
        versions="; ".join("%s" % v for v in versions(shoal, rqbit).values()),
        runs=runs,
        size_text=size_text,
        loopback_table=loopback_table(loopback, size, hows),
        large=large_text(large, hows),
        create_size_text=size_words(create_size),
        charts=chart_links(charts),
        create_table=create_table(create, openssl, create_size),
        swarm=swarm_text,
        simulation=simulation_text,
    )
    with open(path, "w") as out:
        out.write(text)
