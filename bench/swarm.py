#!/usr/bin/python3
"""Scenario 3: one seeder and N leechers, each in its own network namespace,
joined by a bridge that lives in a namespace of its own (nothing is added to
the machine's own namespace). Every peer's upload is capped with netem on its
side of the link (rate and delay). A local opentracker in the seeder's
namespace introduces the peers to each other. Measures the time from the
leechers' start until the last one has every piece, against the bound
T = max(F/u_seed, N·F/(u_seed + Σ u_leechers)) (downloads are not capped, so
F/d_min does not bind), for shoal and for libtorrent swarms of the same shape.

Runs as root. Every namespace is removed on every way out (finally + atexit;
bench/run.sh's trap removes leftovers by name prefix too). Bounded waits.

Each run also reads every peer's link counters twice a second (swarm_links.py)
and reports where the upload capacity went: the seeder's and the leechers'
upload as a share of the cap, the copies of the content the seeder sent, and
a per-second time line (in the JSON; logged with --timeline).

Alone: swarm.py --shoal BIN --work DIR [--peers 8 24] [--size-mib 64]
       [--runs R] [--clients shoal libtorrent] [--variant NAME=BIN] [--timeline]
"""

import argparse
import atexit
import json
import os
import statistics
import subprocess
import sys
import time

from procs import Proc, kill_all
from swarm_links import LinkSampler, summary, timeline_text

DEBIAN_PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
PORT = 6881
TRACKER_PORT = 6969
RUN_TIMEOUT = 300

_made = []


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def ip_of(index):
    return "10.77.%d.%d" % (index // 200, index % 200 + 1)


def shape(tc, dev, rate_mbit, delay_ms):
    """Caps what `dev` sends: netem (rate and delay) where the kernel has it,
    else tbf (rate only; the delay cannot be applied). Returns which."""
    netem = subprocess.run(tc + ["qdisc", "add", "dev", dev, "root", "netem", "delay",
                                 "%dms" % delay_ms, "rate", "%dmbit" % rate_mbit, "limit",
                                 "10000"], capture_output=True, timeout=30)
    if netem.returncode == 0:
        return "netem"
    # The burst must hold a whole GSO packet (64 KiB) or tbf drops it.
    sh(*tc, "qdisc", "add", "dev", dev, "root", "tbf", "rate", "%dmbit" % rate_mbit,
       "burst", "256kb", "latency", "100ms")
    return "tbf"


class Topology:
    """A hub namespace with a bridge, and one namespace per peer with a veth
    into the bridge; index 0 is the seeder."""

    def __init__(self, prefix, peers, rate_mbit, delay_ms, sysctls=()):
        self.prefix = prefix
        self.hub = prefix + "hub"
        self.names = ["%s%d" % (prefix, i) for i in range(peers + 1)]
        # Each peer's link end in the hub: its rx counter is what the peer sent.
        self.outer = ["%sh%d" % (prefix, i) for i in range(peers + 1)]
        self.shaper = None
        self.remove()
        _made.append(self)
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        for i, name in enumerate(self.names):
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
            outer, inner = self.outer[i], "eth0"
            sh("ip", "-n", self.hub, "link", "add", outer, "type", "veth", "peer", "name",
               inner, "netns", name)
            sh("ip", "-n", self.hub, "link", "set", outer, "master", "br0", "up")
            sh("ip", "-n", name, "addr", "add", ip_of(i) + "/16", "dev", inner)
            sh("ip", "-n", name, "link", "set", inner, "up")
            self.shaper = shape(self.argv(i, ["tc"]), inner, rate_mbit, delay_ms)
            for setting in sysctls:
                sh(*self.argv(i, ["sysctl", "-q", "-w", setting]))

    def argv(self, index, argv):
        return ["ip", "netns", "exec", self.names[index]] + list(argv)

    def remove(self):
        for name in getattr(self, "names", []) + [self.hub]:
            if os.path.exists("/run/netns/" + name):
                subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def remove_all():
    for topology in _made:
        topology.remove()


atexit.register(remove_all)


def make_payload(path, size):
    with open(path, "wb") as out:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 16 << 20))
            out.write(chunk)
            left -= len(chunk)


def info_hash(torrent):
    import libtorrent as lt
    return str(lt.torrent_info(torrent).info_hash())


def start_peer(client, shoal, topo, index, torrent, data_dir, log_dir, label):
    addr = "%s:%d" % (ip_of(index), PORT)
    if client.startswith("shoal"):
        if index == 0:
            argv = [shoal, "seed", torrent, "--data", data_dir, "--listen", addr, "--quiet"]
        else:
            argv = [shoal, "get", torrent, "-o", data_dir, "--listen", addr, "--seed",
                    "--peer", "%s:%d" % (ip_of(0), PORT)]
        # Same sources as the libtorrent swarm: the seeder's address, then PEX.
        argv += ["--no-dht", "--no-lsd"]
    else:
        argv = [DEBIAN_PYTHON, os.path.join(HERE, "lt_swarm_peer.py"), torrent, data_dir, addr]
    return Proc(label, topo.argv(index, argv), log_dir)


def completed(client, proc):
    """A leecher has every piece: shoal get prints the file's path on stdout
    when complete; the libtorrent peer prints `complete`."""
    return proc.output().strip() != ""


def one_swarm(client, shoal, topo, peers, torrent, seed_dir, work, log_dir, label, size,
              rate_mbit):
    procs = []
    sampler = LinkSampler(topo.hub, topo.outer)
    try:
        seed = start_peer(client, shoal, topo, 0, torrent, seed_dir, log_dir, label + "-seed")
        procs.append(seed)
        if client.startswith("shoal"):
            ready = seed.wait_idle(120) and seed.poll() is None
        else:
            ready = seed.wait_until(120, lambda: "complete" in seed.output())
        if not ready:
            raise RuntimeError("%s: the seeder never got ready\n%s" % (label, seed.log_tail()))
        time.sleep(0.5)  # its first announce
        started = time.monotonic()
        sampler.start(started)
        leechers = []
        for i in range(1, peers + 1):
            out = os.path.join(work, "%s-out%d" % (label, i))
            os.makedirs(out)
            leechers.append(start_peer(client, shoal, topo, i, torrent, out, log_dir,
                                       "%s-peer%d" % (label, i)))
        procs += leechers
        done = {}
        while len(done) < peers:
            for i, proc in enumerate(leechers):
                if i not in done and completed(client, proc):
                    done[i] = time.monotonic() - started
                if proc.poll() is not None and i not in done:
                    raise RuntimeError("%s: peer %d exited\n%s" % (label, i + 1, proc.log_tail()))
            if time.monotonic() - started > RUN_TIMEOUT:
                raise RuntimeError("%s: %d of %d leechers done in %ss" % (
                    label, len(done), peers, RUN_TIMEOUT))
            time.sleep(0.1)
        sampler.stop()
        last = max(done.values())
        return {"last": last, "first": min(done.values()),
                "median": statistics.median(done.values()),
                "links": summary(sampler.samples, last, size, rate_mbit)}
    finally:
        sampler.stop()
        for proc in procs:
            proc.kill()


def bound(size, peers, rate_mbit):
    u = rate_mbit * 1e6 / 8
    return max(size / u, peers * size / (u + peers * u))


def run_all(shoal, work, sizes_and_peers, runs, rate_mbit, delay_ms, log,
            clients=("shoal", "libtorrent"), variants=None, timelines=False, sysctls=()):
    """`variants` maps extra client labels (`shoal-NAME`) to other shoal binaries, run
    interleaved with the rest."""
    variants = variants or {}
    log_dir = os.path.join(work, "swarm-logs")
    os.makedirs(log_dir, exist_ok=True)
    prefix = "sw%d-" % (os.getpid() % 10000)
    results = []
    for peers, size_mib in sizes_and_peers:
        size = size_mib << 20
        root = os.path.join(work, "swarm-%d" % peers)
        seed_dir = os.path.join(root, "seed")
        os.makedirs(seed_dir)
        source = os.path.join(seed_dir, "payload.bin")
        make_payload(source, size)
        torrent = os.path.join(root, "payload.torrent")
        subprocess.run([shoal, "create", source, "-o", torrent, "--piece-length", "256K",
                        "--quiet", "--tracker", "http://%s:%d/announce" % (ip_of(0), TRACKER_PORT)],
                       check=True, timeout=300)
        tracker_dir = os.path.join(root, "tracker")
        os.makedirs(tracker_dir)
        with open(os.path.join(tracker_dir, "whitelist.txt"), "w") as out:
            out.write(info_hash(torrent) + "\n")
        topo = Topology(prefix, peers, rate_mbit, delay_ms, sysctls)
        try:
            row = {"peers": peers, "size": size, "bound": bound(size, peers, rate_mbit),
                   "shaper": topo.shaper}
            for run in range(1, runs + 1):
                for client in clients:
                    label = "swarm%d-%s-%d" % (peers, client, run)
                    tracker = Proc(label + "-tracker", topo.argv(0, [
                        "opentracker", "-i", ip_of(0), "-p", str(TRACKER_PORT),
                        "-P", str(TRACKER_PORT), "-d", tracker_dir, "-w", "whitelist.txt"]),
                        log_dir)
                    try:
                        time.sleep(0.3)
                        result = one_swarm(client, variants.get(client, shoal), topo, peers,
                                           torrent, seed_dir, root, log_dir, label, size,
                                           rate_mbit)
                        links = result["links"]
                        log("swarm N=%d %s run %d: last leecher %.1f s (bound %.1f s) %s" % (
                            peers, client, run, result["last"], row["bound"],
                            links_text(links)))
                        if timelines and "timeline" in links:
                            log("time line:\n" + timeline_text(links["timeline"]))
                    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                        log("swarm N=%d %s run %d FAILED: %s" % (peers, client, run, error))
                        result = {"error": str(error).splitlines()[0]}
                    finally:
                        tracker.kill()
                        subprocess.run(["bash", "-c", "rm -rf %s/%s-out*" % (root, label)])
                    row.setdefault(client, []).append(result)
            results.append(row)
        finally:
            topo.remove()
            subprocess.run(["rm", "-rf", root])
    return results


def run(shoal, work, quick, runs, log, rate_mbit=40, delay_ms=20):
    """Scenario 3 from bench.py: N = 8 and 24 (quick: N = 8, smaller file)."""
    if os.geteuid() != 0:
        log("swarm: not root, skipped")
        return {"skipped": "needs root for network namespaces"}
    shape = [(8, 16)] if quick else [(8, 64), (24, 64)]
    return {"rate_mbit": rate_mbit, "delay_ms": delay_ms,
            "rows": run_all(shoal, work, shape, 1 if quick else runs, rate_mbit, delay_ms, log)}


def links_text(links):
    if "error" in links:
        return "(no link accounting: %s)" % links["error"]
    return "seed upload %.0f%%, leechers %.0f%%, seed sent %.2f copies" % (
        100 * links["seed_util"], 100 * links["leech_util"], links["seed_copies"])


def median_of(links, key, form, scale):
    if not links:
        return "–"
    return form % (scale * statistics.median(x[key] for x in links))


def spread(values):
    values = sorted(values)
    return "%.1f (%.1f–%.1f)" % (statistics.median(values), values[0], values[-1])


def report_text(results):
    if results is None:
        return "Not run in this invocation."
    if "skipped" in results:
        return "Skipped: %s." % results["skipped"]
    lines = [
        "One seeder and N leechers, each in its own network namespace, joined by a "
        "bridge in a namespace of its own; every peer's upload capped with tc "
        "(%d Mbit/s; %d ms delay where the kernel has netem, see the shaper column), "
        "downloads not capped. 256 KiB pieces; a local "
        "opentracker in the seeder's namespace introduces the peers (shoal leechers "
        "are also given the seeder's address). Time from the leechers' start until "
        "the last has every piece; bound T = max(F/u_seed, N·F/(u_seed + Σ u_leechers))."
        % (results["rate_mbit"], results["delay_ms"]),
        "",
        "",
        "Upload accounting (from the link counters, frames included, median over runs): "
        "seed % and leechers % are their upload over the run as a share of the cap; "
        "copies is what the seeder sent over the content size.",
        "",
        "| N | file | shaper | bound s | client | last leecher s | × bound | first leecher s "
        "| seed % | leechers % | copies |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        clients = ["shoal", "libtorrent"] + sorted(
            k for k in row if k.startswith("shoal-"))
        for client in clients:
            if client not in row:
                continue
            runs = [r for r in row.get(client, []) if "error" not in r]
            if not runs:
                errors = [r["error"] for r in row.get(client, [])]
                lines.append("| %d | %d MiB | %s | %.1f | %s | failed: %s | | | | | |" % (
                    row["peers"], row["size"] >> 20, row["shaper"], row["bound"], client,
                    (errors or ["not run"])[0].replace("|", "/")))
                continue
            links = [r["links"] for r in runs if "seed_util" in r.get("links", {})]
            lines.append("| %d | %d MiB | %s | %.1f | %s | %s | %.2f | %s | %s | %s | %s |" % (
                row["peers"], row["size"] >> 20, row["shaper"], row["bound"], client,
                spread([r["last"] for r in runs]),
                statistics.median(r["last"] for r in runs) / row["bound"],
                spread([r["first"] for r in runs]),
                median_of(links, "seed_util", "%.0f", 100),
                median_of(links, "leech_util", "%.0f", 100),
                median_of(links, "seed_copies", "%.2f", 1)))
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shoal", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--peers", type=int, nargs="+", default=[8, 24])
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate-mbit", type=int, default=40)
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument("--clients", nargs="+", default=["shoal", "libtorrent"],
                        help="which swarms to run, in this order each run")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=BIN",
                        help="also run swarms of another shoal binary, labelled shoal-NAME")
    parser.add_argument("--timeline", action="store_true",
                        help="log each run's per-second upload time line")
    parser.add_argument("--sysctl", action="append", default=[], metavar="KEY=VALUE",
                        help="a network sysctl set in every peer's namespace (experiments)")
    args = parser.parse_args(argv)
    variants = {}
    for spec in args.variant:
        name, _, path = spec.partition("=")
        variants["shoal-" + name] = path
    clients = list(args.clients) + [k for k in variants if k not in args.clients]

    def log(line):
        sys.stderr.write("swarm: %s\n" % line)

    try:
        rows = run_all(args.shoal, args.work, [(n, args.size_mib) for n in args.peers],
                       args.runs, args.rate_mbit, args.delay_ms, log, clients, variants,
                       args.timeline, args.sysctl)
    finally:
        kill_all()
        remove_all()
    results = {"rate_mbit": args.rate_mbit, "delay_ms": args.delay_ms, "rows": rows}
    print(json.dumps(results))
    print(report_text(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
