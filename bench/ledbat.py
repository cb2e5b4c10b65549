#!/usr/bin/python3
"""Does a uTP upload yield to the user's other traffic? (issue 16's LEDBAT benchmark)

Three network namespaces joined by veth pairs, made here and removed at the
end: the seeder's side A (10.98.1.1), a router R, and the other side B
(10.98.2.1). R sends towards B through a token bucket of --rate-mbit with a
deep buffer (--buffer-ms, like a home router's uplink); A and R are joined by
tests/interop/linkem.py's emulated link, which delays every packet --delay-ms
each way (this machine's kernel has no netem), so the idle round trip is about
twice that and a TCP flow's window grows as on a real path. No device of these
namespaces reaches the machine's own.

For each client named, in one run:
  1. idle: ping A->B for --ping-s seconds (the idle RTT);
  2. TCP alone: iperf3 A->B for --ping-s seconds with ping beside it (what a flow
     that does not yield does to the RTT, and what TCP gets of the link alone);
  3. uTP alone: the client seeds in A over uTP only and a leecher of the same
     client downloads in B; once data flows and --settle-s has passed, ping for
     --ping-s seconds (the RTT while it uploads) and count the link's bytes;
  4. uTP and TCP: iperf3 A->B for --share-s seconds beside the upload: the TCP
     flow's share of the link (LEDBAT should leave it most of it).

Usage (as root, from the repository root; the binaries must be built):
  /usr/bin/python3 bench/ledbat.py --shoal target/release/shoal \
      [--clients libtorrent,shoal] [--out report.md]
It prints a markdown table (and writes it to --out)."""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import Proc, kill_all  # noqa: E402

DEBIAN_PYTHON = "/usr/bin/python3"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LT_CLIENT = os.path.join(REPO, "tests", "interop", "lt_client.py")
LINKEM = os.path.join(REPO, "tests", "interop", "linkem.py")
NS_A, NS_R, NS_B = "shoal-ledbat-a", "shoal-ledbat-r", "shoal-ledbat-b"
# A and R are the two ends of linkem's point-to-point link.
ADDR_A, ROUTER_A = "10.98.1.1", "10.98.1.254"
ADDR_B, ROUTER_B = "10.98.2.1", "10.98.2.254"
SEED_PORT = 6991
IPERF_PORT = 5299
IPERF_EXTRA = os.environ.get("LEDBAT_IPERF_EXTRA", "").split()
# Bounds on every wait.
START_TIMEOUT = 120
FLOW_TIMEOUT = 60


def sh(argv, timeout=30, check=True):
    return subprocess.run(argv, check=check, capture_output=True, timeout=timeout, text=True)


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns] + list(argv)


# --- the link -------------------------------------------------------------------------

def make_link(rate_mbit, buffer_ms, delay_ms, log_dir):
    """A -- R over a link with delay_ms each way (linkem: this kernel has no netem),
    R -- B over a veth whose R end is the bottleneck. Returns the link's carrier."""
    remove_link()
    for ns in (NS_A, NS_R, NS_B):
        sh(["ip", "netns", "add", ns])
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
    carrier = Proc("linkem", [DEBIAN_PYTHON, LINKEM, "--ns-a", NS_A, "--ns-b", NS_R,
                              "--addr-a", ADDR_A, "--addr-b", ROUTER_A,
                              "--delay-ms", str(delay_ms), "--timeout", "3600"], log_dir)
    if not carrier.wait_until(30, lambda: carrier.has_line("ready")):
        raise RuntimeError("linkem did not start\n%s" % carrier.log_tail())
    for argv in (
        ["ip", "-n", NS_B, "link", "add", "lb", "type", "veth", "peer", "name", "rb",
         "netns", NS_R],
        ["ip", "-n", NS_R, "addr", "add", ROUTER_B + "/24", "dev", "rb"],
        ["ip", "-n", NS_B, "addr", "add", ADDR_B + "/24", "dev", "lb"],
        ["ip", "-n", NS_R, "link", "set", "rb", "up"],
        ["ip", "-n", NS_B, "link", "set", "lb", "up"],
        ["ip", "-n", NS_A, "route", "add", "default", "dev", "linkem-a"],
        ["ip", "-n", NS_B, "route", "add", "default", "via", ROUTER_B],
        ["ip", "netns", "exec", NS_R, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
        # The bottleneck: the router's link towards B, with a buffer of buffer_ms at the
        # link's rate. It sits in the router, not in A, so that A's TCP gets no
        # back-pressure from its own queue (TCP small queues) and fills the buffer as it
        # would a home router's.
        ["ip", "netns", "exec", NS_R, "tc", "qdisc", "add", "dev", "rb", "root", "tbf",
         "rate", "%dmbit" % rate_mbit, "burst", "16kb", "latency", "%dms" % buffer_ms],
    ):
        sh(argv)
    return carrier


def remove_link():
    for ns in (NS_A, NS_R, NS_B):
        if os.path.exists("/run/netns/" + ns):
            sh(["ip", "netns", "del", ns], check=False)


def tx_bytes():
    """Bytes the router has sent towards B so far (what crossed the bottleneck)."""
    out = sh(["ip", "-n", NS_R, "-s", "-j", "link", "show", "rb"]).stdout
    match = re.search(r'"tx":\{"bytes":(\d+)', out)
    return int(match.group(1)) if match else 0


# --- measurements ---------------------------------------------------------------------

def ping(seconds):
    """RTTs (ms) of pings A->B, one every 0.2 s for `seconds`."""
    count = max(1, int(seconds / 0.2))
    done = sh(in_ns(NS_A, ["ping", "-n", "-i", "0.2", "-c", str(count), "-W", "2", ADDR_B]),
              timeout=seconds + 30, check=False)
    return [float(m) for m in re.findall(r"time=([\d.]+) ms", done.stdout)]


def start_iperf_server(log_dir):
    return Proc("iperf3-server", in_ns(NS_B, ["iperf3", "-s", "-B", ADDR_B, "-p",
                                              str(IPERF_PORT)]), log_dir)


def start_iperf_client(seconds, tcp_cc):
    return subprocess.Popen(
        in_ns(NS_A, ["iperf3", "-c", ADDR_B, "-p", str(IPERF_PORT), "-t", str(seconds),
                     "-J", "-C", tcp_cc] + IPERF_EXTRA),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def iperf_result(client, seconds):
    """Mbit/s the receiver got, from iperf3's JSON."""
    out, err = client.communicate(timeout=seconds + 60)
    if os.environ.get("LEDBAT_VERBOSE"):
        rates = re.findall(r'"sum":\s*\{[^}]*?"bits_per_second":\s*([\d.e+]+)', out, re.S)
        sys.stderr.write("iperf3 per second: %s\n" % " ".join("%.1f" % (float(r) / 1e6)
                                                              for r in rates))
    match = re.search(r'"sum_received":\s*\{[^}]*?"bits_per_second":\s*([\d.e+]+)', out, re.S)
    if not match:
        raise RuntimeError("iperf3 gave no result: %s" % err.strip()[-300:])
    return float(match.group(1)) / 1e6


def rtt_summary(samples):
    if not samples:
        return {"median": float("nan"), "p90": float("nan"), "n": 0}
    ordered = sorted(samples)
    return {"median": statistics.median(ordered),
            "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
            "n": len(ordered)}


# --- clients --------------------------------------------------------------------------

def start_pair(client, args, work, log_dir):
    """Seeder in A over uTP only, leecher in B; both running when this returns."""
    out_dir = os.path.join(work, "out-" + client)
    shutil.rmtree(out_dir, ignore_errors=True)
    torrent = os.path.join(work, "payload.torrent")
    data = os.path.join(work, "seed")
    if client == "libtorrent":
        seed = [DEBIAN_PYTHON, LT_CLIENT, "seed", "--torrent", torrent, "--data", data,
                "--host", ADDR_A, "--listen", str(SEED_PORT), "--transport", "utp",
                "--timeout", "3600"]
        get = [DEBIAN_PYTHON, LT_CLIENT, "get", "--torrent", torrent, "--save", out_dir,
               "--host", ADDR_B, "--peer", "%s:%d" % (ADDR_A, SEED_PORT),
               "--transport", "utp", "--timeout", "3600"]
        ready = lambda proc: proc.has_line("seeding")  # noqa: E731
    elif client == "shoal":
        quiet = ["--no-dht", "--no-lsd", "--transport", "utp", "--quiet"]
        seed = [args.shoal, "seed", torrent, "--data", data,
                "--listen", "%s:%d" % (ADDR_A, SEED_PORT)] + quiet
        get = [args.shoal, "get", torrent, "-o", out_dir, "--listen", ADDR_B + ":0",
               "--peer", "%s:%d" % (ADDR_A, SEED_PORT), "--timeout", "3600"] + quiet
        ready = lambda proc: proc.wait_idle(5)  # noqa: E731
    else:
        raise SystemExit("unknown client %r" % client)
    seeder = Proc(client + "-seed", in_ns(NS_A, seed), log_dir)
    if not seeder.wait_until(START_TIMEOUT, lambda: ready(seeder)):
        raise RuntimeError("%s seeder never got ready\n%s" % (client, seeder.log_tail()))
    leecher = Proc(client + "-get", in_ns(NS_B, get), log_dir)
    return seeder, leecher


def wait_for_flow(rate_mbit):
    """Until the link carries at least half its rate for a second (bounded)."""
    deadline = time.monotonic() + FLOW_TIMEOUT
    while time.monotonic() < deadline:
        before = tx_bytes()
        time.sleep(1.0)
        if (tx_bytes() - before) * 8 / 1e6 >= rate_mbit / 2:
            return True
    return False


def measure_client(client, args, work, log_dir):
    seeder, leecher = start_pair(client, args, work, log_dir)
    try:
        if not wait_for_flow(args.rate_mbit):
            raise RuntimeError("%s: no uTP flow on the link\n%s\n%s"
                               % (client, seeder.log_tail(), leecher.log_tail()))
        time.sleep(args.settle_s)
        before, started = tx_bytes(), time.monotonic()
        rtts = ping(args.ping_s)
        alone_mbit = (tx_bytes() - before) * 8 / 1e6 / (time.monotonic() - started)
        before, started = tx_bytes(), time.monotonic()
        iperf = start_iperf_client(args.share_s, args.tcp_cc)
        tcp_mbit = iperf_result(iperf, args.share_s)
        total_mbit = (tx_bytes() - before) * 8 / 1e6 / (time.monotonic() - started)
        if leecher.poll() is not None:
            raise RuntimeError("%s: the download ended during the measurement (payload too "
                               "small?)\n%s" % (client, leecher.log_tail()))
        return {"rtt": rtt_summary(rtts), "alone_mbit": alone_mbit, "tcp_mbit": tcp_mbit,
                "utp_beside_mbit": max(0.0, total_mbit - tcp_mbit)}
    finally:
        leecher.kill()
        seeder.kill()


# --- the run --------------------------------------------------------------------------

def make_payload(work, size_mib, shoal):
    data = os.path.join(work, "seed")
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, "payload.bin")
    with open(path, "wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(1 << 20))
    sh([shoal, "create", path, "-o", os.path.join(work, "payload.torrent"), "--quiet"],
       timeout=300)


def report(args, idle, tcp_alone, results):
    rate = args.rate_mbit
    lines = [
        "Link: %d Mbit/s from A with a %d ms buffer, %d ms delay each way, TCP %s; idle RTT "
        "median %.2f ms (p90 %.2f, %d pings)." % (rate, args.buffer_ms, args.delay_ms,
                                                   args.tcp_cc, idle["median"], idle["p90"],
                                                   idle["n"]),
        "",
        "| flow from A | RTT median ms | RTT p90 ms | rise over idle ms | its rate Mbit/s "
        "| iperf3 TCP beside it Mbit/s | TCP share of the link |",
        "|---|---|---|---|---|---|---|",
        "| TCP alone (iperf3) | %.1f | %.1f | %+.1f | %.1f | — | — |" % (
            tcp_alone["rtt"]["median"], tcp_alone["rtt"]["p90"],
            tcp_alone["rtt"]["median"] - idle["median"], tcp_alone["mbit"]),
    ]
    for client, r in results.items():
        if "error" in r:
            lines.append("| %s uTP | failed: %s | | | | | |" % (client, r["error"]))
            continue
        lines.append("| %s uTP | %.1f | %.1f | %+.1f | %.1f | %.1f (uTP %.1f) | %.0f%% |" % (
            client, r["rtt"]["median"], r["rtt"]["p90"], r["rtt"]["median"] - idle["median"],
            r["alone_mbit"], r["tcp_mbit"], r["utp_beside_mbit"], 100.0 * r["tcp_mbit"] / rate))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoal", default=os.path.join(REPO, "target", "release", "shoal"))
    parser.add_argument("--clients", default="libtorrent,shoal")
    parser.add_argument("--rate-mbit", type=int, default=20)
    parser.add_argument("--buffer-ms", type=int, default=500)
    parser.add_argument("--delay-ms", type=int, default=10)
    # CUBIC: the default of Linux distributions, Windows and macOS, so the user's other
    # traffic. (The machines this was written on default to BBR, which does not fill a
    # buffer and so leaves a delay-based flow nothing to yield to.)
    parser.add_argument("--tcp-cc", default="cubic")
    parser.add_argument("--ping-s", type=int, default=20)
    parser.add_argument("--settle-s", type=int, default=10)
    parser.add_argument("--share-s", type=int, default=60)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--out")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("ledbat.py makes network namespaces: run it as root")
    work = tempfile.mkdtemp(prefix="shoal-ledbat-")
    log_dir = os.path.join(work, "logs")
    os.makedirs(log_dir)
    iperf_server = None
    try:
        make_payload(work, args.size_mib, args.shoal)
        make_link(args.rate_mbit, args.buffer_ms, args.delay_ms, log_dir)
        iperf_server = start_iperf_server(log_dir)
        time.sleep(1)
        idle = rtt_summary(ping(args.ping_s))
        iperf = start_iperf_client(args.ping_s, args.tcp_cc)
        tcp_rtts = ping(args.ping_s)
        tcp_alone = {"rtt": rtt_summary(tcp_rtts), "mbit": iperf_result(iperf, args.ping_s)}
        results = {}
        for client in args.clients.split(","):
            try:
                results[client] = measure_client(client, args, work, log_dir)
            except RuntimeError as err:
                results[client] = {"error": str(err).splitlines()[0]}
                sys.stderr.write("ledbat: %s\n" % err)
        text = report(args, idle, tcp_alone, results)
        print(text)
        if args.out:
            with open(args.out, "w") as out:
                out.write(text)
    finally:
        if iperf_server:
            iperf_server.kill()
        kill_all()
        remove_link()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
