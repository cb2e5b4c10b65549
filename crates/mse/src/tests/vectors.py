#!/usr/bin/env python3
"""Derives the fixed handshake in vectors.rs independently of the Rust code: Python's own
big integers for Diffie-Hellman, hashlib for SHA-1, OpenSSL's RC4 (through the
`cryptography` package) for the streams. Run it and compare with the constants in
vectors.rs; the inputs here must match that file's."""

import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher

P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
    "F44C42E9A63A36210000000000090563",
    16,
)
XA = bytes(range(1, 21))
XB = bytes(range(21, 41))
PAD_A = bytes([0xAA] * 5)
PAD_B = bytes([0xBB] * 3)
PAD_C_LEN = 4
PAD_D_LEN = 2
SKEY = bytes([0x42] * 20)
PROVIDE = 0x03
SELECT = 0x02
IA = b"hello IA"


def sha1(*parts):
    return hashlib.sha1(b"".join(parts)).digest()


def rc4(key):
    enc = Cipher(ARC4(key), mode=None).encryptor()
    enc.update(bytes(1024))
    return enc


def main():
    ya = pow(2, int.from_bytes(XA, "big"), P).to_bytes(96, "big")
    yb = pow(2, int.from_bytes(XB, "big"), P).to_bytes(96, "big")
    s = pow(int.from_bytes(yb, "big"), int.from_bytes(XA, "big"), P).to_bytes(96, "big")
    a = rc4(sha1(b"keyA", s, SKEY))
    b = rc4(sha1(b"keyB", s, SKEY))
    req = sha1(b"req1", s) + bytes(x ^ y for x, y in zip(sha1(b"req2", SKEY), sha1(b"req3", s)))
    third = req + a.update(
        bytes(8)
        + PROVIDE.to_bytes(4, "big")
        + PAD_C_LEN.to_bytes(2, "big")
        + bytes(PAD_C_LEN)
        + len(IA).to_bytes(2, "big")
        + IA
    )
    fourth = b.update(bytes(8) + SELECT.to_bytes(4, "big") + PAD_D_LEN.to_bytes(2, "big") + bytes(PAD_D_LEN))
    print(f'const A_FIRST: &str = "{(ya + PAD_A).hex()}";')
    print(f'const B_FIRST: &str = "{(yb + PAD_B).hex()}";')
    print(f'const A_THIRD: &str = "{third.hex()}";')
    print(f'const B_FOURTH: &str = "{fourth.hex()}";')
    print(f'const A_PING: &str = "{a.update(b"ping").hex()}";')
    print(f'const B_PONG: &str = "{b.update(b"pong").hex()}";')


main()
