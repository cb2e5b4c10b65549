#!/usr/bin/python3
"""The yardstick for shoal-utp's loopback speed: libtorrent seeding to libtorrent over
uTP only (both sessions in this process), timing the transfer and the process's CPU.

    python3 crates/utp/interop/libtorrent_pair.py [MiB]
"""
import os
import resource
import sys
import tempfile
import time

import libtorrent as lt

size = int(sys.argv[1]) * (1 << 20) if len(sys.argv) > 1 else 1 << 30
piece = 256 << 10

def session(port):
    return lt.session({
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_incoming_tcp": False, "enable_outgoing_tcp": False,
        "enable_incoming_utp": True, "enable_outgoing_utp": True,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "out_enc_policy": 2, "in_enc_policy": 2,
        "allow_multiple_connections_per_ip": True,
    })

with tempfile.TemporaryDirectory() as seed_dir, tempfile.TemporaryDirectory() as leech_dir:
    path = os.path.join(seed_dir, "content.bin")
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, piece, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, seed_dir)
    info = lt.torrent_info(ct.generate())
    port = 47000 + os.getpid() % 1000
    seeder, leecher = session(port), session(port + 1)
    hs = seeder.add_torrent({"ti": info, "save_path": seed_dir})
    while not hs.status().is_seeding:
        time.sleep(0.05)
    hl = leecher.add_torrent({"ti": info, "save_path": leech_dir})
    time.sleep(0.2)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.time()
    hl.connect_peer(("127.0.0.1", port))
    while not hl.status().is_seeding and time.time() - t0 < 300:
        time.sleep(0.01)
    took = time.time() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    user, sys_ = cpu1.ru_utime - cpu0.ru_utime, cpu1.ru_stime - cpu0.ru_stime
    print(f"libtorrent -> libtorrent over uTP: {size} bytes in {took:.2f} s "
          f"({size / took / 1e6:.1f} MB/s); CPU of both sides user {user:.2f} s sys {sys_:.2f} s "
          f"({(user + sys_) / (size / (1 << 30)):.2f} s per GiB, hashing and disk included)")
