#!/usr/bin/env python3
"""A small HTTP tracker on a dual-stack socket, for the BEP 7 tests.

Debian's opentracker is built IPv4-only ("V4 Tracker is V4 only!"), so the tests of
announcing over both families need a tracker that listens on [::] and answers IPv6 peers.
This one keeps a swarm per info-hash (peer id -> addresses the peer announced from, with
the port it gave), answers compact `peers` (IPv4) and `peers6` (IPv6, BEP 7) lists of the
other peers, and prints one line per announce on stdout:

    announce FAMILY SOURCE_IP PORT EVENT

The swarm keeps at most 200 peers; the process ends after --timeout seconds.

usage: dual_tracker.py --port PORT [--timeout SECONDS]
"""

import argparse
import http.server
import ipaddress
import socket
import socketserver
import struct
import sys
import threading
import urllib.parse

MAX_PEERS = 200


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, dict):
        out = b"d"
        for key in sorted(value):
            out += bencode(key) + bencode(value[key])
        return out + b"e"
    raise TypeError(type(value))


class Swarms:
    def __init__(self):
        self.lock = threading.Lock()
        # info_hash -> peer_id -> set of (ip, port)
        self.swarms = {}

    def announce(self, info_hash, peer_id, ip, port, event):
        with self.lock:
            swarm = self.swarms.setdefault(info_hash, {})
            if event == "stopped":
                swarm.pop(peer_id, None)
            elif len(swarm) < MAX_PEERS or peer_id in swarm:
                swarm.setdefault(peer_id, set()).add((ip, port))
            others = [
                addr for pid, addrs in swarm.items() if pid != peer_id for addr in addrs
            ]
        v4 = b"".join(
            ipaddress.ip_address(ip).packed + struct.pack(">H", port)
            for ip, port in others
            if ipaddress.ip_address(ip).version == 4
        )
        v6 = b"".join(
            ipaddress.ip_address(ip).packed + struct.pack(">H", port)
            for ip, port in others
            if ipaddress.ip_address(ip).version == 6
        )
        return {b"interval": 1800, b"min interval": 1, b"peers": v4, b"peers6": v6}


SWARMS = Swarms()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        # Percent-decoded as latin-1, so each byte of the raw info-hash stays one character.
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True, encoding="latin-1")
        try:
            info_hash = query["info_hash"][0].encode("latin-1")
            peer_id = query["peer_id"][0].encode("latin-1")
            port = int(query["port"][0])
            event = query.get("event", [""])[0]
        except (KeyError, ValueError, IndexError):
            return self.reply(bencode({b"failure reason": b"bad announce"}))
        ip = ipaddress.ip_address(self.client_address[0])
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        family = "v%d" % ip.version
        print("announce %s %s %d %s" % (family, ip, port, event or "-"), flush=True)
        self.reply(bencode(SWARMS.announce(info_hash, peer_id, str(ip), port, event)))

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DualStackServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    server = DualStackServer(("::", args.port), Handler)
    print("listening %d" % args.port, flush=True)
    timer = threading.Timer(args.timeout, server.shutdown)
    timer.daemon = True
    timer.start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
