#!/usr/bin/python3
"""The hardware limit for a one-to-one loopback transfer on this machine.

Pushes the bytes of one file through one 127.0.0.1 TCP connection into a
receiver that SHA-1-hashes every piece (as a BitTorrent leecher verifies it)
and writes the bytes to a file, fsyncing at the end. No protocol, no peer
logic: what is left is the work every client has to do, so a client's MB/s
can be read as a fraction of this one.

The sender is a separate process (it reads the source file, normally in page
cache, and sends it); the receiver pipelines two threads, one receiving into
piece-sized buffers and one hashing and writing them, so both cores can be
used the way a client could use them. hashlib and socket calls release the
GIL on large buffers.

Usage: hwlimit.py SOURCE_FILE OUT_FILE [--piece-length BYTES]
Prints one line of JSON: bytes, seconds, mb_per_s (10^6 bytes/s),
cpu_seconds (sender + receiver), pieces_sha1 (SHA-1 of the concatenated
piece digests, to check the bytes against the source's).
"""

import argparse
import hashlib
import json
import os
import queue
import socket
import sys
import threading
import time

PIECE_LENGTH = 1 << 20
# Buffers in flight between the receiving and the hashing thread.
QUEUE_DEPTH = 8
TIMEOUT_SECONDS = 600


def send_file(path, port):
    """Sender process: connect and stream the file, then exit."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_SECONDS) as conn:
        with open(path, "rb") as source:
            conn.sendfile(source)


def receive_exact(conn, view):
    """Fill `view` from `conn`; return how many bytes arrived (short at EOF)."""
    filled = 0
    while filled < len(view):
        got = conn.recv_into(view[filled:])
        if got == 0:
            break
        filled += got
    return filled


def hash_and_write(pieces, out_path, result):
    """Consumer thread: a SHA-1 per piece (as a leecher verifies), then write.
    The piece digests are kept so the caller can compare them with the
    source's (outside the timed part)."""
    digests = []
    with open(out_path, "wb") as out:
        while True:
            item = pieces.get()
            if item is None:
                break
            data = item
            digests.append(hashlib.sha1(data).digest())
            out.write(data)
        out.flush()
        os.fsync(out.fileno())
    result["pieces_sha1"] = hashlib.sha1(b"".join(digests)).hexdigest()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--piece-length", type=int, default=PIECE_LENGTH)
    args = parser.parse_args(argv)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT_SECONDS)
    port = listener.getsockname()[1]

    cpu_before = os.times()
    started = time.monotonic()
    sender = os.fork()
    if sender == 0:
        listener.close()
        try:
            send_file(args.source, port)
        finally:
            os._exit(0)

    conn, _ = listener.accept()
    conn.settimeout(TIMEOUT_SECONDS)
    pieces = queue.Queue(maxsize=QUEUE_DEPTH)
    result = {}
    consumer = threading.Thread(target=hash_and_write, args=(pieces, args.out, result))
    consumer.start()
    total = 0
    while True:
        buffer = bytearray(args.piece_length)
        got = receive_exact(conn, memoryview(buffer))
        if got == 0:
            break
        total += got
        pieces.put(bytes(buffer[:got]) if got < len(buffer) else buffer)
        if got < len(buffer):
            break
    pieces.put(None)
    consumer.join(TIMEOUT_SECONDS)
    elapsed = time.monotonic() - started
    os.waitpid(sender, 0)
    cpu_after = os.times()
    cpu = sum(cpu_after[i] - cpu_before[i] for i in range(4))
    json.dump(
        {
            "bytes": total,
            "seconds": round(elapsed, 4),
            "mb_per_s": round(total / elapsed / 1e6, 1),
            "cpu_seconds": round(cpu, 3),
            "pieces_sha1": result.get("pieces_sha1"),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
