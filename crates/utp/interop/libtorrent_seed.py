#!/usr/bin/python3
"""Runs shoal-utp's interop examples against libtorrent (python3-libtorrent), uTP only.

    python3 crates/utp/interop/libtorrent_seed.py fetch [MiB]   (from the repository root)
    python3 crates/utp/interop/libtorrent_seed.py serve [MiB]

fetch: libtorrent seeds; the bt_fetch example downloads every byte over uTP and checks it.
serve: the bt_serve example seeds; libtorrent downloads over uTP and hash-checks every
piece. The content's byte i is (i * 7 + i // 4093) % 256.
"""
import os
import subprocess
import sys
import tempfile
import time

import libtorrent as lt

mode = sys.argv[1] if len(sys.argv) > 1 else "fetch"
size = int(sys.argv[2]) * (1 << 20) if len(sys.argv) > 2 else 64 << 20
piece = 256 << 10
port = 46000 + os.getpid() % 1000

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "content.bin")
    # The content repeats every 4093 * 256 bytes: one period, tiled.
    period = bytes(((i * 7 + i // 4093) % 256) for i in range(4093 * 256))
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(period))
            f.write(period[:n])
            left -= n
    fs = lt.file_storage()
    lt.add_files(fs, path)
    # v1 only: a hybrid torrent has libtorrent dial with the truncated v2 info-hash.
    ct = lt.create_torrent(fs, piece, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, d)
    info = lt.torrent_info(ct.generate())

    ses = lt.session({
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_incoming_tcp": False,
        "enable_outgoing_tcp": False,
        "enable_incoming_utp": True,
        "enable_outgoing_utp": True,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # Plain peer wire: the examples speak no MSE.
        "out_enc_policy": 2,
        "in_enc_policy": 2,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification,
    })
    if mode == "serve":
        os.remove(path)  # libtorrent must download it
        bin_ = ["cargo", "run", "-q", "--release", "-p", "shoal-utp", "--example", "bt_serve", "--",
                "127.0.0.1:0", str(info.info_hash()), str(size), str(piece)]
        server = subprocess.Popen(bin_, stdout=subprocess.PIPE, text=True)
        shoal_port = int(server.stdout.readline())
        h = ses.add_torrent({"ti": info, "save_path": d})
        time.sleep(0.2)
        t0 = time.time()
        h.connect_peer(("127.0.0.1", shoal_port))
        while not h.status().is_seeding and time.time() - t0 < 120:
            time.sleep(0.02)
        took = time.time() - t0
        st = h.status()
        print(f"libtorrent downloaded {st.total_wanted_done} of {size} bytes from shoal-utp in "
              f"{took:.2f} s ({st.total_wanted_done / took / 1e6:.1f} MB/s), "
              f"hash failures: {st.num_pieces - len([p for p in st.pieces if p])} missing pieces, "
              f"redundant {st.total_redundant_bytes}, failed {st.total_failed_bytes}")
        ses.remove_torrent(h)
        print(server.stdout.read().strip())
        server.wait(timeout=30)
        for a in ses.pop_alerts():
            if "error" in a.what() or "disconnect" in a.what():
                print("libtorrent:", a.message())
        sys.exit(0 if st.is_seeding and st.total_failed_bytes == 0 else 1)

    h = ses.add_torrent({"ti": info, "save_path": d})
    for _ in range(600):
        if h.status().is_seeding:
            break
        time.sleep(0.1)
    assert h.status().is_seeding, "libtorrent did not finish checking"
    ih = str(info.info_hash())
    cmd = ["cargo", "run", "-q", "--release", "-p", "shoal-utp", "--example", "bt_fetch", "--",
           f"127.0.0.1:{port}", ih, str(size), str(piece)]
    t0 = time.time()
    r = subprocess.run(cmd)
    print(f"bt_fetch exit {r.returncode} after {time.time() - t0:.1f} s; libtorrent uploaded "
          f"{h.status().total_upload} bytes")
    for a in ses.pop_alerts():
        if "error" in a.what() or "disconnect" in a.what():
            print("libtorrent:", a.message())
    sys.exit(r.returncode)
