#!/usr/bin/python3
"""A home router's mapping services gone wrong, for shoal's port mapping tests.

Run in a router namespace without miniupnpd: `hostile_gateway.py LAN_IP`. It answers
  * NAT-PMP/PCP on UDP 5351 with a burst of unusable datagrams for every request: truncated,
    wrong version, wrong opcode, a PCP answer for another nonce with an absurd lifetime, a
    PCP/NAT-PMP grant of lifetime 0, a NAT-PMP external address of 0.0.0.0;
  * SSDP M-SEARCH on UDP 1900 (multicast and unicast) with garbage, a reply whose LOCATION
    points at another host, and one whose description has no control URL;
  * HTTP on LAN_IP:5000 with that description.
Every datagram received is logged on stdout. Runs until killed.
"""
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

LAN_IP = sys.argv[1]


def log(*args):
    print(*args, flush=True)


def pcp_answer(request, result, lifetime, nonce=None):
    """A MAP answer shaped after `request` (60 bytes)."""
    a = bytearray(request[:60].ljust(60, b"\0"))
    a[0] = 2
    a[1] = 0x81
    a[2] = 0
    a[3] = result
    a[4:8] = struct.pack(">I", lifetime)
    a[8:12] = struct.pack(">I", 1)
    a[12:24] = b"\0" * 12
    if nonce is not None:
        a[24:36] = nonce
    a[44:60] = b"\0" * 10 + b"\xff\xff" + socket.inet_aton("80.100.100.11")
    return bytes(a)


def natpmp_answers(request):
    op = request[1] if len(request) > 1 else 0
    out = [bytes([0, 128 + op, 0])]  # truncated
    out.append(bytes([0, 128 + op + 7, 0, 0]) + b"\0" * 12)  # wrong opcode
    if op == 0:
        out.append(bytes([0, 128, 0, 0, 0, 0, 0, 1]) + b"\0\0\0\0")  # external 0.0.0.0
    else:
        internal = request[4:6]
        out.append(bytes([0, 128 + op, 0, 0, 0, 0, 0, 1]) + internal + internal + b"\0\0\0\0")  # lifetime 0
    return out


def serve_5351():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 5351))
    while True:
        data, peer = s.recvfrom(2048)
        log("5351", peer, data.hex())
        if data[:1] == b"\x02" and len(data) >= 60:
            answers = [
                data[:3],  # truncated
                bytes([3]) + data[1:60],  # wrong version
                bytes([2, 0x82]) + data[2:60],  # answer to another opcode
                pcp_answer(data, 0, 0xFFFFFFFF, nonce=b"N" * 12),  # someone else's, absurd
                pcp_answer(data, 0, 0),  # "granted" for no time at all
            ]
        else:
            answers = natpmp_answers(data)
        for a in answers:
            s.sendto(a, peer)


def serve_ssdp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 1900))
    try:
        mreq = socket.inet_aton("239.255.255.250") + socket.inet_aton(LAN_IP)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    except OSError as e:
        log("no multicast membership:", e)
    while True:
        data, peer = s.recvfrom(4096)
        if not data.startswith(b"M-SEARCH"):
            continue
        log("ssdp", peer)
        replies = [
            b"\xff\xfe garbage \x00",
            b"HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
            b"LOCATION: http://80.100.100.2:5000/desc.xml\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
            b"LOCATION: http://" + LAN_IP.encode() + b":5000/nocontrol.xml\r\n\r\n",
        ]
        for r in replies:
            s.sendto(r, peer)


DESCRIPTION = (
    b'<?xml version="1.0"?><root><device><serviceList><service>'
    b"<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
    b"<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>"
    b"</service></serviceList></device></root>"
)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        log("http GET", self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(DESCRIPTION)))
        self.end_headers()
        self.wfile.write(DESCRIPTION)

    def do_POST(self):
        log("http POST", self.path)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    threading.Thread(target=serve_5351, daemon=True).start()
    threading.Thread(target=serve_ssdp, daemon=True).start()
    log("ready")
    HTTPServer((LAN_IP, 5000), Handler).serve_forever()
