#!/usr/bin/env python3
"""Writes the small seed corpus of each fuzz target into corpus/<target>/seed-*.

A few valid inputs per format give the fuzzer a head start past the parts it is slow to
guess (a request line, a bencoded dictionary, a transaction id); everything else it finds
itself. Run from anywhere: python3 fuzz/seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def bstr(b):
    b = b if isinstance(b, bytes) else b.encode()
    return str(len(b)).encode() + b":" + b


# --- HTTP tracker bodies (BEP 3, 23, 7, 48) ---
compact = bytes([10, 0, 0, 1, 0x1A, 0xE1, 10, 0, 0, 2, 0x1A, 0xE2])
v6 = bytes(15) + b"\x01" + b"\x1a\xe1"
write("tracker_http", "compact", b"d8:completei3e10:incompletei1e8:intervali1800e12:min intervali60e5:peers" + bstr(compact) + b"6:peers6" + bstr(v6) + b"e")
write("tracker_http", "dict-peers", b"d8:intervali900e5:peersld2:ip8:10.0.0.37:peer id20:AAAAAAAAAAAAAAAAAAAA4:porti6881eeee")
write("tracker_http", "failure", b"d14:failure reason17:torrent not founde")
write("tracker_http", "warning", b"d8:intervali60e5:peers0:15:warning message4:slow10:tracker id3:abce")
write("tracker_http", "scrape", b"d5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei5e10:downloadedi50e10:incompletei10eeee")

# --- HTTP responses (first byte: how the reads are split) ---
write("http_response", "length", b"\x00HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
write("http_response", "chunked", b"\x55HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n")
write("http_response", "close", b"\xffHTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nbody until close")

# --- UDP tracker scripts (see fuzz_targets/tracker_udp.rs for the layout) ---
def datagram(op, payload):
    return bytes([op, len(payload)]) + payload

connect = struct.pack(">IIQ", 0, 0, 0x1122334455667788)
announce = struct.pack(">IIIII", 1, 0, 1800, 2, 5) + compact
scrape = struct.pack(">II", 2, 0) + struct.pack(">III", 5, 50, 10) * 2
error = struct.pack(">II", 3, 0) + b"unknown torrent"
write("tracker_udp", "announce", b"\x00" + datagram(1, connect) + datagram(1, announce))
write("tracker_udp", "scrape", b"\x24" + datagram(1, connect) + datagram(1, scrape))
write("tracker_udp", "retransmit", b"\x1a" + b"\x00\x0f" + datagram(2, connect) + b"\x00\x1e" + datagram(1, connect) + b"\x00\x3c" + b"\x03" + datagram(1, error))

# --- LSD datagrams (BEP 14) ---
ih = "ab" * 20
write("lsd", "one", f"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: {ih}\r\ncookie: c00k1e\r\n\r\n\r\n")
write("lsd", "two-v6", f"BT-SEARCH * HTTP/1.1\r\nHost: [ff15::efc0:988f]:6771\r\nPort: 51413\r\nInfohash: {ih}\r\nInfohash: {'0F' * 20}\r\n\r\n\r\n")

# --- DHT state file ---
write("dht_state", "file", "# shoal DHT nodes: ip:port per line\n203.0.113.7:6881\n198.51.100.20:51413\n  10.1.2.3:1  \n[::1]:6881\n")

# --- peer wire: handshake, then a message stream with BEP 10 payloads ---
handshake = b"\x13BitTorrent protocol" + bytes([0, 0, 0, 0, 0, 0x10, 0, 0x05]) + b"\x01" * 20 + b"-SH0100-abcdefghijkl"
write("wire", "handshake", handshake)
def msg(mid, payload=b""):
    return struct.pack(">IB", 1 + len(payload), mid) + payload
ext_hs = b"d1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei1234e1:pi6881e4:reqqi250e1:v8:shoal/0.6:yourip4:\x7f\x00\x00\x01e"
meta_data = b"d8:msg_typei1e5:piecei0e10:total_sizei5ee" + b"hello"
pex = b"d5:added" + bstr(compact) + b"7:added.f2:\x02\x107:dropped6:" + bytes([10, 0, 0, 9, 0, 80]) + b"e"
write("wire", "ext-handshake", ext_hs)
write("wire", "ut_metadata", meta_data)
write("wire", "ut_pex", pex)
write("wire", "stream",
      msg(20, b"\x00" + ext_hs) + msg(20, b"\x01" + meta_data) + msg(20, b"\x02" + pex)
      + msg(5, b"\xff\x80") + msg(2) + msg(6, struct.pack(">III", 0, 0, 16384))
      + msg(7, struct.pack(">II", 0, 0) + b"data") + msg(4, struct.pack(">I", 3)) + b"\x00\x00\x00\x00")

# --- bencode, metainfo, magnet ---
info = b"d6:lengthi5e4:name5:a.txt12:piece lengthi16384e6:pieces20:" + bytes(range(20)) + b"e"
torrent = b"d8:announce30:http://127.0.0.1:6969/announce4:info" + info + b"e"
write("bencode", "dict", b"d1:ai-12e1:bl3:xyzi0ee1:cdee")
write("bencode", "torrent", torrent)
write("metainfo", "torrent", torrent)
write("metainfo", "info", info)
write("magnet", "hex", "magnet:?xt=urn:btih:" + ih + "&dn=a%20file&tr=udp%3A%2F%2F127.0.0.1%3A6969&x.pe=10.0.0.1:6881")
write("magnet", "base32", "magnet:?xt=urn:btih:VOVOVOVOVOVOVOVOVOVOVOVOVOVOVOVO&dn=x")

# --- uTP packets (BEP 29): header, SACK, unknown extension ---
def utp(ptype, ext=0, conn=0x1234, seq=1, ack=0, wnd=1 << 20, tail=b""):
    return struct.pack(">BBHIIIHH", (ptype << 4) | 1, ext, conn, 1000, 50, wnd, seq, ack) + tail

write("utp_packet", "syn", utp(4))
write("utp_packet", "data-sack", utp(0, 1, tail=b"\x00\x04\x05\x00\x00\x80" + b"payload"))
write("utp_packet", "state-ext-bits", utp(2, 2, tail=b"\x01\x08" + bytes(8) + b"\x00\x04\xff\xff\xff\xff"))

# --- uTP endpoint scripts (see fuzz_targets/utp_endpoint.rs for the layout) ---
def dgram(op, packet):
    packet = packet + bytes(-len(packet) % 8)
    return bytes([op, len(packet) // 8]) + packet

write("utp_endpoint", "data-then-timeout", dgram(1, utp(0, seq=2, ack=0, tail=b"abcdefgh")) + b"\x00\x64" + b"\x04\x01" + b"\x05")
write("utp_endpoint", "sack-fin-reset", dgram(1, utp(2, 1, tail=b"\x00\x04\x0f\x00\x00\x00")) + dgram(1, utp(1, seq=9)) + b"\x04\x02\x05" + dgram(1, utp(3)))
write("utp_endpoint", "stranger-syn", dgram(3, utp(4, conn=77)) + dgram(2, utp(4, conn=78)) + b"\x00\xff\x00\xff")

# --- MSE (first byte: bit 0 set = XOR mask over an honest handshake, other bits: read sizes) ---
for target in ("mse_receiver", "mse_initiator"):
    write(target, "honest", b"\x01")
    write(target, "honest-split", b"\x5b" + bytes(200))
    write(target, "raw", b"\x00" + bytes(range(256)) * 3)

# --- Port mapping (first byte picks the decoder, see fuzz_targets/portmap.rs) ---
write("portmap", "natpmp-map", b"\x00" + bytes([0, 130, 0, 0, 0, 0, 0, 9, 0x9C, 0x41, 0x9C, 0x41, 0, 0, 0x1C, 0x20]))
pcp = bytearray(60)
pcp[0:4] = bytes([2, 0x81, 0, 0])
pcp[4:8] = struct.pack(">I", 7200)
pcp[24:36] = b"0123456789ab"
pcp[36] = 17
pcp[40:44] = bytes([0x9C, 0x41, 0x9C, 0x41])
pcp[44:60] = bytes(10) + b"\xff\xff" + bytes([80, 100, 100, 11])
write("portmap", "pcp-map", b"\x01" + bytes(pcp))
write("portmap", "ssdp", b"\x02HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://192.168.77.1:5000/rootDesc.xml\r\n\r\n")
write("portmap", "igd", b"\x03<URLBase>http://10.0.0.1/</URLBase><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>")
write("portmap", "soap-fault", b"\x04<UPnPError><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError>")
write("portmap", "url", b"\x05http://10.0.0.1:5000/a/b.xmlctl/x?y=1")
write("portmap", "route", b"\x06Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nEth0\t00000000\t014DA8C0\t0003\t0\t0\t0\t00000000\n")
