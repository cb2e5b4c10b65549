#!/usr/bin/python3
"""Transmission (transmission-daemon 3.00, whose uTP is libutp) seeds a torrent; the
bt_fetch example downloads every byte over uTP and checks it.

    python3 crates/utp/interop/transmission_seed.py [MiB]   (from the repository root)
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import libtorrent as lt  # only to read the info-hash

size = int(sys.argv[1]) * (1 << 20) if len(sys.argv) > 1 else 64 << 20
piece = 256 << 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


with tempfile.TemporaryDirectory() as d:
    data_dir = os.path.join(d, "data")
    os.makedirs(data_dir)
    path = os.path.join(data_dir, "content.bin")
    period = bytes(((i * 7 + i // 4093) % 256) for i in range(4093 * 256))
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(period))
            f.write(period[:n])
            left -= n
    torrent = os.path.join(d, "content.torrent")
    subprocess.run(["transmission-create", "-s", str(piece >> 10), "-o", torrent, path],
                   check=True, stdout=subprocess.DEVNULL)
    ih = str(lt.torrent_info(torrent).info_hash())
    port, rpc = free_port(), free_port()
    conf = os.path.join(d, "config")
    os.makedirs(conf)
    with open(os.path.join(conf, "settings.json"), "w") as f:
        json.dump({
            "bind-address-ipv4": "127.0.0.1", "dht-enabled": False, "lpd-enabled": False,
            "pex-enabled": False, "port-forwarding-enabled": False, "utp-enabled": True,
            "encryption": 0, "download-dir": data_dir, "peer-port": port,
            "peer-port-random-on-start": False, "rpc-enabled": True, "rpc-port": rpc,
            "rpc-bind-address": "127.0.0.1", "rpc-authentication-required": False,
            "rpc-whitelist-enabled": False, "rpc-host-whitelist-enabled": False,
            "ratio-limit-enabled": False, "speed-limit-up-enabled": False,
            "upload-slots-per-torrent": 50,
        }, f)
    daemon = subprocess.Popen(["transmission-daemon", "--foreground", "--config-dir", conf],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        remote = ["transmission-remote", f"127.0.0.1:{rpc}"]
        for _ in range(100):
            if subprocess.run(remote + ["-l"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(remote + ["--add", torrent, "--download-dir", data_dir], check=True,
                       stdout=subprocess.DEVNULL)
        for _ in range(600):
            info = subprocess.run(remote + ["-t", "1", "-i"], capture_output=True, text=True).stdout
            if "State: Seeding" in info or "State: Idle" in info and "Percent Done: 100%" in info:
                break
            time.sleep(0.1)
        cmd = ["cargo", "run", "-q", "--release", "-p", "shoal-utp", "--example", "bt_fetch", "--",
               f"127.0.0.1:{port}", ih, str(size), str(piece)]
        t0 = time.time()
        r = subprocess.run(cmd)
        print(f"bt_fetch from Transmission exit {r.returncode} after {time.time() - t0:.1f} s")
        sys.exit(r.returncode)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
