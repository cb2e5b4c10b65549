#!/usr/bin/python3
"""A lossy, slow link between two network namespaces, emulated in user space.

This machine's kernel has no netem qdisc (only pfifo, tbf and htb), so the tests
that need loss, reordering and delay put a point-to-point link made of two TUN
devices between two namespaces the test made, and this program carries every
packet from one device to the other, deciding for each one, with a seeded
random generator:
  - lost (--loss PERCENT), or else
  - sent at once, ahead of the packets waiting (--reorder PERCENT, netem's
    meaning of reordering), or else
  - held for --delay-ms.
Each direction is treated alike and on its own, so the round trip is twice
--delay-ms. At most --queue packets wait in each direction (more are dropped),
so memory stays bounded whatever is sent.

Usage (as root):
  linkem.py --ns-a NS_A --ns-b NS_B --addr-a 10.97.0.1 --addr-b 10.97.0.2 \
      [--delay-ms 20] [--loss 1] [--reorder 0.5] [--seed 1] [--timeout 600]
Prints `ready` once both devices are up and addressed, then carries packets
until SIGTERM, SIGINT or --timeout; on exit prints one line of counts
(`carried N lost N reordered N overflow N`) and the devices go with it."""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MAX_PACKET = 65536

_libc = ctypes.CDLL(None, use_errno=True)


def enter_namespace(path):
    """Moves this (single-threaded) process into the network namespace at `path`."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns %s: %s" % (path, os.strerror(err)))
    finally:
        os.close(fd)


def open_tun(name):
    """A TUN device in the current namespace; packets without the 4-byte info header."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def configure(ns, dev, local, peer):
    for argv in (["ip", "-n", ns, "addr", "add", local, "peer", peer, "dev", dev],
                 ["ip", "-n", ns, "link", "set", dev, "up"],
                 ["ip", "-n", ns, "link", "set", "lo", "up"]):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)


class Direction:
    """Packets read from one device, waiting to be written to the other."""

    def __init__(self, out_fd, args, rng):
        self.out_fd = out_fd
        self.args = args
        self.rng = rng
        self.waiting = []  # heap of (due, order, packet)
        self.order = 0
        self.counts = {"carried": 0, "lost": 0, "reordered": 0, "overflow": 0}

    def take(self, packet, now):
        if self.rng.random() * 100.0 < self.args.loss:
            self.counts["lost"] += 1
            return
        if len(self.waiting) >= self.args.queue:
            self.counts["overflow"] += 1
            return
        if self.rng.random() * 100.0 < self.args.reorder:
            self.counts["reordered"] += 1
            due = now
        else:
            due = now + self.args.delay_ms / 1000.0
        self.order += 1
        heapq.heappush(self.waiting, (due, self.order, packet))

    def release(self, now):
        while self.waiting and self.waiting[0][0] <= now:
            _, _, packet = heapq.heappop(self.waiting)
            try:
                os.write(self.out_fd, packet)
                self.counts["carried"] += 1
            except BlockingIOError:
                self.counts["overflow"] += 1

    def next_due(self):
        return self.waiting[0][0] if self.waiting else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns-a", required=True)
    parser.add_argument("--ns-b", required=True)
    parser.add_argument("--addr-a", required=True)
    parser.add_argument("--addr-b", required=True)
    parser.add_argument("--dev-a", default="linkem-a")
    parser.add_argument("--dev-b", default="linkem-b")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--loss", type=float, default=0.0)
    parser.add_argument("--reorder", type=float, default=0.0)
    parser.add_argument("--queue", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    home = "/proc/self/ns/net"
    home_fd = os.open(home, os.O_RDONLY)
    enter_namespace("/run/netns/" + args.ns_a)
    fd_a = open_tun(args.dev_a)
    enter_namespace("/run/netns/" + args.ns_b)
    fd_b = open_tun(args.dev_b)
    if _libc.setns(home_fd, CLONE_NEWNET) != 0:
        sys.exit("linkem: cannot return to the original namespace")
    os.close(home_fd)
    configure(args.ns_a, args.dev_a, args.addr_a, args.addr_b)
    configure(args.ns_b, args.dev_b, args.addr_b, args.addr_a)

    rng = random.Random(args.seed)
    a_to_b = Direction(fd_b, args, rng)
    b_to_a = Direction(fd_a, args, rng)
    sources = {fd_a: a_to_b, fd_b: b_to_a}

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    print("ready", flush=True)
    deadline = time.monotonic() + args.timeout
    while not stopping and time.monotonic() < deadline:
        now = time.monotonic()
        dues = [d for d in (a_to_b.next_due(), b_to_a.next_due()) if d is not None]
        wait = max(0.0, min(dues) - now) if dues else 0.5
        try:
            readable, _, _ = select.select([fd_a, fd_b], [], [], min(wait, 0.5))
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in readable:
            # Drain what is there, up to a bound per turn so the other side gets its turn.
            for _ in range(256):
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                sources[fd].take(packet, now)
        a_to_b.release(now)
        b_to_a.release(now)
    totals = {k: a_to_b.counts[k] + b_to_a.counts[k] for k in a_to_b.counts}
    print(" ".join("%s %d" % kv for kv in totals.items()), flush=True)


if __name__ == "__main__":
    main()
