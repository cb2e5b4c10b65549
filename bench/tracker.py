"""A local opentracker for the clients that can only find peers through a
tracker (aria2 as a leecher; Transmission, which will not be handed a peer).
Debian's opentracker serves only whitelisted info-hashes; a fresh tracker runs
for every transfer so no peer of an earlier run is handed out.

Also runs alone inside a namespace: `tracker.py seeders URL INFO_HASH` prints
how many seeders the tracker knows (from a scrape)."""

import binascii
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from procs import Proc

HERE = os.path.abspath(__file__)
DEBIAN_PYTHON = "/usr/bin/python3"
ANNOUNCE_TIMEOUT = 60


def seeders(announce_url, info_hash):
    """The `complete` count of a scrape, or 0 if the tracker does not answer."""
    url = announce_url.replace("/announce", "/scrape") + "?info_hash=" + urllib.parse.quote(
        binascii.unhexlify(info_hash))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        body = opener.open(url, timeout=5).read()
    except OSError:
        return 0
    # d5:filesd20:<hash>d8:completei1e...: a bencoded integer after "complete".
    match = re.search(rb"8:completei(\d+)e", body)
    return int(match.group(1)) if match else 0


class Tracker:
    """opentracker on `net`'s address and `port` for one info-hash."""

    def __init__(self, net, port, info_hash, work, label, log_dir):
        self.net = net
        self.port = port
        self.url = "http://%s/announce" % net.addr(port)
        self.info_hash = info_hash
        root = os.path.join(work, "tracker-" + label)
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "whitelist.txt"), "w") as out:
            out.write(info_hash + "\n")
        # -d: opentracker chroots there (as root) before reading the whitelist.
        argv = net.argv(["opentracker", "-i", net.host, "-p", str(port), "-P", str(port),
                         "-d", root, "-w", "whitelist.txt"])
        self.proc = Proc(label, argv, log_dir)
        if not self.proc.wait_until(30, lambda: net.port_open(port)):
            raise RuntimeError("opentracker never listened on %s\n%s" % (
                net.addr(port), self.proc.log_tail()))

    def seeders(self):
        if not self.net.prefix:
            return seeders(self.url, self.info_hash)
        done = subprocess.run(self.net.argv([DEBIAN_PYTHON, HERE, "seeders", self.url,
                                             self.info_hash]),
                              capture_output=True, text=True, timeout=30)
        return int(done.stdout.strip() or 0)

    def wait_seeder(self, seed_proc):
        """Until the seeder has announced itself: a leecher started later gets
        it in its first announce reply."""
        deadline = time.monotonic() + ANNOUNCE_TIMEOUT
        while time.monotonic() < deadline:
            if self.seeders() >= 1:
                return
            if seed_proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("%s never announced to the tracker at %s\n%s" % (
            seed_proc.label, self.url, seed_proc.log_tail()))

    def kill(self):
        self.proc.kill()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "seeders":
        print(seeders(sys.argv[2], sys.argv[3]))
        sys.exit(0)
    sys.exit("usage: tracker.py seeders ANNOUNCE_URL INFO_HASH")
