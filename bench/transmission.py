"""Transmission (transmission-daemon, driven with transmission-remote) as a
seeder or a leecher. Each daemon gets a private config folder whose
settings.json turns off DHT, LPD, PEX, uTP and port mapping and binds the peer
port to the pair's address. Transmission never dials 127.0.0.0/8, so as a
leecher it runs in the benchmark's namespace (see nets.py) and finds the
seeder through a tracker there; as a seeder on loopback the leecher dials it.

Transmission unchokes a new peer only at its next rechoke (about every 10 s),
which weighs on short transfers: that is how it behaves, so it is measured."""

import json
import os
import subprocess
import time

from procs import Proc, free_port

STARTUP_TIMEOUT = 300
POLL_INTERVAL = 0.1


def settings(host, port, rpc_port, download_dir):
    return {
        "bind-address-ipv4": host,
        "blocklist-enabled": False,
        "dht-enabled": False,
        "download-dir": download_dir,
        "download-queue-enabled": False,
        "encryption": 1,
        "incomplete-dir-enabled": False,
        "lpd-enabled": False,
        "message-level": 2,
        "peer-port": port,
        "peer-port-random-on-start": False,
        "pex-enabled": False,
        "port-forwarding-enabled": False,
        "ratio-limit-enabled": False,
        "rename-partial-files": False,
        "rpc-authentication-required": False,
        "rpc-bind-address": "127.0.0.1",
        "rpc-enabled": True,
        "rpc-host-whitelist-enabled": False,
        "rpc-port": rpc_port,
        "rpc-whitelist": "127.0.0.1",
        "rpc-whitelist-enabled": True,
        "speed-limit-down-enabled": False,
        "speed-limit-up-enabled": False,
        "start-added-torrents": True,
        "utp-enabled": False,
        "watch-dir-enabled": False,
    }


def field(details, label):
    for line in details.splitlines():
        line = line.strip()
        if line.startswith(label):
            return line[len(label):].strip()
    return ""


class Transmission:
    """One transmission-daemon holding one torrent, in `net`."""

    def __init__(self, net, label, torrent, download_dir, work, log_dir, host):
        self.net = net
        self.host = host
        self.port = free_port()
        self.rpc_port = free_port()
        config = os.path.join(work, label + "-config")
        os.makedirs(config)
        with open(os.path.join(config, "settings.json"), "w") as out:
            json.dump(settings(host, self.port, self.rpc_port, download_dir), out, indent=1)
        argv = net.argv(["transmission-daemon", "--foreground", "--config-dir", config])
        self.proc = Proc(label, argv, log_dir)
        self.label = label
        if not self.proc.wait_until(STARTUP_TIMEOUT, lambda: net.port_open(self.rpc_port, "127.0.0.1")):
            raise RuntimeError("%s opened no RPC port\n%s" % (label, self.proc.log_tail()))
        self.remote("--add", torrent)
        self.last_poll = 0.0

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)

    def remote(self, *args):
        argv = self.net.argv(["transmission-remote", "127.0.0.1:%d" % self.rpc_port] + list(args))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError("%s: transmission-remote %s failed: %s%s" % (
                self.label, " ".join(args), done.stdout, done.stderr))
        return done.stdout

    def state(self):
        details = self.remote("-t", "1", "-i")
        return field(details, "State:"), field(details, "Percent Done:")

    def wait_seeding(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            state, done = self.state()
            if done == "100%" and state in ("Idle", "Seeding"):
                return
            time.sleep(0.3)
        raise RuntimeError("%s never seeded\n%s" % (self.label, self.proc.log_tail()))

    def finished(self):
        """As a leecher: 0 once every piece is verified, the daemon's exit
        status if it died, None while it downloads (polled every 0.1 s)."""
        status = self.proc.poll()
        if status is not None:
            return status if status != 0 else 1
        now = time.monotonic()
        if now - self.last_poll < POLL_INTERVAL:
            return None
        self.last_poll = now
        _, done = self.state()
        return 0 if done == "100%" else None

    def stop(self):
        """SIGTERM: the daemon writes out its cache and exits."""
        self.proc.kill()
