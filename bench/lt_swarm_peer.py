#!/usr/bin/python3
"""One libtorrent peer of the namespace swarm (swarm.py): listens on the
given address, finds peers through the torrent's tracker, prints `complete`
once every piece is verified (or `seeding` once a seeder's data is checked)
and keeps seeding until killed. Run with Debian's /usr/bin/python3.

Usage: lt_swarm_peer.py TORRENT SAVE_DIR LISTEN_IP:PORT"""

import sys
import time

import libtorrent as lt

DEADLINE = 900


def main(torrent, save, listen):
    ses = lt.session({
        "listen_interfaces": listen,
        "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "alert_mask": 0,
    })
    handle = ses.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save})
    said = False
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        status = handle.status()
        if not said and status.is_seeding and status.state != lt.torrent_status.checking_files:
            handle.flush_cache()
            print("complete", flush=True)
            said = True
        time.sleep(0.05)
    return 3


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
