"""How each client seeds and leeches one torrent for scenario 1.

A seeder function starts the client on the pair's network (nets.py) and
returns once it listens and has checked its data; a leecher function starts a
download. Both return a Side: the process (for CPU and memory), the address
it listens on, `finished()` (None while downloading, 0 once the client reports
the data complete and verified, else a failure status) and `stop()`.

A leecher function returns a Leecher, made before the harness's clock starts;
its `start()`, timed, gives the Side.

Every client runs as its users run it: its own defaults for disk and cache,
and completion as the client reports it. shoal, rqbit and aria2 are run as
one-shot downloaders, started when the clock starts, and report completion by
exiting 0. The libtorrent leecher stands for a libtorrent-based client
(qBittorrent, Deluge): its session is already running and listening when the
clock starts and is then told to add the torrent; it reports completion with
its `complete` line (is_seeding) and goes on seeding until the harness stops
it. Transmission's daemon is started with the clock and reports completion
through `Percent Done`.

libtorrent runs through tests/interop/lt_client.py with Debian's python;
rqbit is the binary bench/run.sh installs into its cache; aria2 cannot be
given a peer, so as a leecher it finds the seeder through the local tracker
(tracker.py), and so does libtorrent (see PAIRS); Transmission is in
transmission.py."""

import os
import signal

from procs import Proc, free_port
from transmission import Transmission

DEBIAN_PYTHON = "/usr/bin/python3"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Peers come from the suite (given address or its own tracker): no DHT, no LSD, so nothing
# leaves the machine and no other source changes the timing.
SHOAL_QUIET_NET = ["--no-dht", "--no-lsd"]
LT_CLIENT = os.path.join(REPO, "tests", "interop", "lt_client.py")
STARTUP_TIMEOUT = 300


class Setup:
    """What every client needs: binaries, the seed data, folders, limits."""

    def __init__(self, shoal, rqbit, seed_dir, work, log_dir, transfer_timeout,
                 shoal_args=(), lt_args=()):
        self.shoal = shoal
        # Extra options for both shoal sides, e.g. ("--encryption", "require").
        self.shoal_args = list(shoal_args)
        # Extra options of lt_client.py for both libtorrent sides, e.g.
        # ("--encryption", "forced-rc4", "--transport", "utp").
        self.lt_args = list(lt_args)
        self.rqbit = rqbit
        self.seed_dir = seed_dir
        self.work = work
        self.log_dir = log_dir
        self.transfer_timeout = transfer_timeout


class Side:
    """A client process on one side of a pair."""

    def __init__(self, proc, addr=None):
        self.proc = proc
        self.addr = addr

    def finished(self):
        return self.proc.poll()

    def stop(self):
        self.proc.kill()


class Leecher:
    """A leecher not yet started: `start()` is the moment the harness's clock starts at,
    and gives the Side. Most leechers are a new process started then."""

    def __init__(self, launch):
        self.launch = launch

    def cpu_before_start(self):
        """CPU seconds the leecher has spent before `start()` (none: it does not exist)."""
        return 0.0

    def start(self):
        return self.launch()

    def stop(self):
        pass


class RunningSession(Leecher):
    """The libtorrent leecher: its session is started and listening before the clock, as a
    libtorrent-based client's is when its user adds a torrent; `start()` tells it to add
    the torrent (SIGUSR1, lt_client.py --add-on-signal), and completion is its `complete`
    line, after which it goes on seeding."""

    def __init__(self, proc):
        super().__init__(None)
        self.side = LineSide(proc, "complete")
        if not proc.wait_until(STARTUP_TIMEOUT, lambda: proc.has_line("listening ")):
            raise RuntimeError("%s never listened\n%s" % (proc.label, proc.log_tail()))
        if not proc.wait_idle(STARTUP_TIMEOUT):
            raise RuntimeError("%s kept busy after starting\n%s" % (proc.label, proc.log_tail()))

    def cpu_before_start(self):
        return self.side.proc.cpu_seconds()

    def start(self):
        os.kill(self.side.proc.pid, signal.SIGUSR1)
        return self.side

    def stop(self):
        self.side.stop()


class LineSide(Side):
    """A leecher that reports completion with a line on stdout and keeps running."""

    def __init__(self, proc, line):
        super().__init__(proc)
        self.line = line

    def finished(self):
        status = self.proc.poll()
        if status is not None:
            # Exiting before the line is a failure, whatever the status says.
            return status or 1
        return 0 if self.proc.has_line(self.line) else None


class TransmissionSide(Side):
    def __init__(self, daemon):
        super().__init__(daemon.proc, daemon.addr)
        self.daemon = daemon

    def finished(self):
        return self.daemon.finished()

    def stop(self):
        self.daemon.stop()


def _ready(proc, condition, what):
    if not proc.wait_until(STARTUP_TIMEOUT, condition):
        raise RuntimeError("%s never became ready (%s)\n%s" % (proc.label, what, proc.log_tail()))
    if not proc.wait_idle(STARTUP_TIMEOUT):
        raise RuntimeError("%s kept busy after starting\n%s" % (proc.label, proc.log_tail()))


# --- shoal -----------------------------------------------------------------

def seed_shoal(setup, net, label, torrent):
    port = free_port()
    argv = net.argv([setup.shoal, "seed", torrent, "--data", setup.seed_dir,
                     "--listen", net.addr(port), "--quiet"] + SHOAL_QUIET_NET
                    + setup.shoal_args)
    proc = Proc(label, argv, setup.log_dir)
    if "utp" in setup.shoal_args:
        # uTP only: no TCP listener to probe; its UDP socket is bound once the session is up.
        _ready(proc, lambda: udp_bound(port), "UDP socket bound")
    else:
        _ready(proc, lambda: net.port_open(port), "listening")
    return Side(proc, net.addr(port))


def udp_bound(port):
    """Whether a UDP socket of this network namespace is bound to `port`."""
    with open("/proc/net/udp") as table:
        next(table)
        return any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in table)


def get_shoal(setup, net, label, torrent, out_dir, peer):
    argv = [setup.shoal, "get", torrent, "-o", out_dir, "--listen", net.addr(0),
            "--quiet", "--timeout", "60"] + SHOAL_QUIET_NET + setup.shoal_args
    if peer:
        argv += ["--peer", peer]
    return Leecher(lambda: Side(Proc(label, net.argv(argv), setup.log_dir)))


# --- libtorrent (loopback only: lt_client.py listens on 127.0.0.1) ---------

def seed_libtorrent(setup, net, label, torrent):
    port = free_port()
    argv = [DEBIAN_PYTHON, LT_CLIENT, "seed", "--torrent", torrent,
            "--data", setup.seed_dir, "--listen", str(port), "--timeout", "3600"] + setup.lt_args
    proc = Proc(label, net.argv(argv), setup.log_dir)
    _ready(proc, lambda: "seeding" in proc.output(), "`seeding` line")
    return Side(proc, "127.0.0.1:%d" % port)


def get_libtorrent(setup, net, label, torrent, out_dir, peer):
    # --seed-after: like a qBittorrent or Deluge user's session, it goes on seeding once
    # complete (so its shutdown is no part of the transfer).
    argv = [DEBIAN_PYTHON, LT_CLIENT, "get", "--torrent", torrent, "--save", out_dir,
            "--timeout", "3600", "--seed-after", "--add-on-signal"] + setup.lt_args
    if peer:
        argv += ["--peer", peer]
    return RunningSession(Proc(label, net.argv(argv), setup.log_dir))


# --- rqbit -----------------------------------------------------------------

def _rqbit_argv(setup, net, port):
    if not setup.rqbit:
        raise RuntimeError("rqbit is not installed (bench/run.sh installs it into its cache)")
    return [setup.rqbit, "--disable-dht", "--disable-dht-persistence", "--disable-lsd",
            "--disable-upnp-port-forward", "--ipv4-only", "--listen-ip", net.host,
            "--listen-port", str(port)]


def _rqbit_env(setup):
    # rqbit keeps state under the XDG folders: keep it in the scratch folder.
    home = os.path.join(setup.work, "rqbit-home")
    env = dict(os.environ, HOME=home, XDG_CACHE_HOME=home + "/cache",
               XDG_DATA_HOME=home + "/data", XDG_CONFIG_HOME=home + "/config",
               RQBIT_LOG_LEVEL_CONSOLE="warn")
    return env


def seed_rqbit(setup, net, label, torrent):
    port = free_port()
    # --overwrite: use the files already there (checked first), then seed.
    argv = _rqbit_argv(setup, net, port) + ["download", "-o", setup.seed_dir, torrent,
                                            "--disable-http-api", "--overwrite"]
    proc = Proc(label, net.argv(argv), setup.log_dir, env=_rqbit_env(setup))
    _ready(proc, lambda: net.port_open(port), "listening")
    return Side(proc, net.addr(port))


def get_rqbit(setup, net, label, torrent, out_dir, peer):
    argv = _rqbit_argv(setup, net, free_port()) + [
        "download", "-o", out_dir, torrent, "--disable-http-api", "--exit-on-finish"]
    if peer:
        argv += ["--initial-peers", peer]
    return Leecher(lambda: Side(Proc(label, net.argv(argv), setup.log_dir,
                                     env=_rqbit_env(setup))))


# --- aria2 -----------------------------------------------------------------

def _aria2_argv(net, port):
    return ["aria2c", "--no-conf=true", "--listen-port=%d" % port,
            "--interface=%s" % net.host, "--disable-ipv6=true", "--enable-dht=false",
            "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
            "--console-log-level=notice", "--summary-interval=0",
            "--allow-overwrite=true", "--auto-file-renaming=false"]


def seed_aria2(setup, net, label, torrent):
    port = free_port()
    argv = _aria2_argv(net, port) + ["--dir", setup.seed_dir, "--check-integrity=true",
                                     "--bt-seed-unverified=false", "--seed-ratio=0.0",
                                     torrent]
    proc = Proc(label, net.argv(argv), setup.log_dir)
    _ready(proc, lambda: net.port_open(port), "listening")
    return Side(proc, net.addr(port))


def get_aria2(setup, net, label, torrent, out_dir, peer):
    assert peer is None, "aria2 cannot be given a peer"
    argv = _aria2_argv(net, free_port()) + ["--dir", out_dir, "--seed-time=0", torrent]
    return Leecher(lambda: Side(Proc(label, net.argv(argv), setup.log_dir)))


# --- Transmission ----------------------------------------------------------

def seed_transmission(setup, net, label, torrent):
    daemon = Transmission(net, label, torrent, setup.seed_dir, setup.work, setup.log_dir,
                          net.host)
    daemon.wait_seeding()
    _ready(daemon.proc, lambda: True, "idle after checking")
    return TransmissionSide(daemon)


def get_transmission(setup, net, label, torrent, out_dir, peer):
    assert peer is None, "Transmission is not handed a peer"
    return Leecher(lambda: TransmissionSide(Transmission(net, label, torrent, out_dir,
                                                         setup.work, setup.log_dir,
                                                         net.leech_host)))


SEEDERS = {"shoal": seed_shoal, "libtorrent": seed_libtorrent, "rqbit": seed_rqbit,
           "aria2": seed_aria2, "transmission": seed_transmission}
LEECHERS = {"shoal": get_shoal, "libtorrent": get_libtorrent, "rqbit": get_rqbit,
            "aria2": get_aria2, "transmission": get_transmission}

# How the leecher meets the seeder:
DIRECT = "direct"  # given the seeder's address, on 127.0.0.1
TRACKER = "tracker"  # through a local opentracker, on 127.0.0.1
NAMESPACE = "namespace"  # through opentracker, inside the namespace (nets.py)

# (seeder, leecher, how) of scenario 1, in the order they run and are shown. The libtorrent
# leecher meets its seeder through the tracker: libtorrent dials a peer it is handed
# (connect_peer) only at its once-a-second tick, 0-1 s after the torrent is added, but
# connects to the peers of a tracker reply at once, as a qBittorrent user's client does.
PAIRS = [
    ("shoal", "shoal", DIRECT),
    ("libtorrent", "libtorrent", TRACKER),
    ("rqbit", "rqbit", DIRECT),
    ("aria2", "aria2", TRACKER),
    ("transmission", "transmission", NAMESPACE),
    ("shoal", "libtorrent", TRACKER),
    ("libtorrent", "shoal", DIRECT),
    ("shoal", "rqbit", DIRECT),
    ("rqbit", "shoal", DIRECT),
    ("shoal", "aria2", TRACKER),
    ("aria2", "shoal", DIRECT),
    ("shoal", "transmission", NAMESPACE),
    ("transmission", "shoal", DIRECT),
]
