"""How each client is started as a seeder or a leecher on 127.0.0.1.

A seeder spec starts the process and says when it is ready (listening and
done checking its data); a leecher spec starts a download that exits 0 once
the data is complete. libtorrent runs through tests/interop/lt_client.py with
Debian's python; aria2 cannot be given a peer, so it is only used as a seeder
here (the leecher dials it)."""

import os

from procs import Proc, free_port, port_open

DEBIAN_PYTHON = "/usr/bin/python3"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LT_CLIENT = os.path.join(REPO, "tests", "interop", "lt_client.py")
STARTUP_TIMEOUT = 300


class Setup:
    """What every client needs: the shoal binary, the torrent, the seed data."""

    def __init__(self, shoal, torrent, seed_dir, log_dir, transfer_timeout):
        self.shoal = shoal
        self.torrent = torrent
        self.seed_dir = seed_dir
        self.log_dir = log_dir
        self.transfer_timeout = transfer_timeout


def _ready(proc, setup, condition, what):
    if not proc.wait_until(STARTUP_TIMEOUT, condition):
        raise RuntimeError("%s never became ready (%s)\n%s" % (proc.label, what, proc.log_tail()))
    if not proc.wait_idle(STARTUP_TIMEOUT):
        raise RuntimeError("%s kept busy after starting\n%s" % (proc.label, proc.log_tail()))


def seed_shoal(setup, label):
    port = free_port()
    argv = [setup.shoal, "seed", setup.torrent, "--data", setup.seed_dir,
            "--listen", "127.0.0.1:%d" % port, "--quiet"]
    proc = Proc(label, argv, setup.log_dir)
    _ready(proc, setup, lambda: port_open(port), "listening")
    return proc, "127.0.0.1:%d" % port


def seed_libtorrent(setup, label):
    port = free_port()
    argv = [DEBIAN_PYTHON, LT_CLIENT, "seed", "--torrent", setup.torrent,
            "--data", setup.seed_dir, "--listen", str(port), "--timeout", "3600"]
    proc = Proc(label, argv, setup.log_dir)
    _ready(proc, setup, lambda: "seeding" in proc.output(), "`seeding` line")
    return proc, "127.0.0.1:%d" % port


def seed_aria2(setup, label):
    port = free_port()
    argv = ["aria2c", "--no-conf=true", "--listen-port=%d" % port,
            "--interface=127.0.0.1", "--disable-ipv6=true", "--enable-dht=false",
            "--enable-dht6=false", "--bt-enable-lpd=false",
            "--enable-peer-exchange=false", "--console-log-level=notice",
            "--summary-interval=0", "--dir", setup.seed_dir,
            "--check-integrity=true", "--bt-seed-unverified=false",
            "--seed-ratio=0.0", setup.torrent]
    proc = Proc(label, argv, setup.log_dir)
    _ready(proc, setup, lambda: port_open(port), "listening")
    return proc, "127.0.0.1:%d" % port


def get_shoal(setup, label, out_dir, peer):
    argv = [setup.shoal, "get", setup.torrent, "-o", out_dir, "--peer", peer,
            "--listen", "127.0.0.1:0", "--quiet", "--timeout", "60"]
    return Proc(label, argv, setup.log_dir)


def get_libtorrent(setup, label, out_dir, peer):
    argv = [DEBIAN_PYTHON, LT_CLIENT, "get", "--torrent", setup.torrent,
            "--save", out_dir, "--peer", peer,
            "--timeout", str(setup.transfer_timeout)]
    return Proc(label, argv, setup.log_dir)


SEEDERS = {"shoal": seed_shoal, "libtorrent": seed_libtorrent, "aria2": seed_aria2}
LEECHERS = {"shoal": get_shoal, "libtorrent": get_libtorrent}

# (seeder, leecher) pairs of scenario 1, in the order they run and are shown.
PAIRS = [
    ("shoal", "shoal"),
    ("libtorrent", "libtorrent"),
    ("libtorrent", "shoal"),
    ("shoal", "libtorrent"),
    ("aria2", "shoal"),
    ("aria2", "libtorrent"),
]
