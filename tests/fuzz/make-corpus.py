"""Writes the seed corpora of fuzz-authenticator and fuzz-cred-store from real requests.

Usage: /usr/bin/python3 tests/fuzz/make-corpus.py BUILD_DIR (needs BUILD_DIR/tests/softauth-ctap).
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

from fido2 import cbor

build = sys.argv[1]
root = os.path.dirname(os.path.abspath(__file__))
helper = os.path.join(build, "tests", "softauth-ctap")
CDH = hashlib.sha256(b"client data").digest()
ES256 = [{"alg": -7, "type": "public-key"}]
S1 = hashlib.sha256(b"WebAuthn PRF\0one").digest()
S2 = hashlib.sha256(b"WebAuthn PRF\0two").digest()
FAKE_ID = bytes([1, 1]) + bytes(range(32))


def mc(**kw):
    d = {1: CDH, 2: {"id": "example.com", "name": "Example"},
         3: {"id": b"u3", "name": "carol", "displayName": "Carol"}, 4: ES256}
    d.update(kw)
    return b"\x01" + cbor.encode(d)


def ga(**kw):
    d = {1: "example.com", 2: CDH}
    d.update(kw)
    return b"\x02" + cbor.encode(d)


def entry(flags, *reqs):
    return bytes([flags]) + b"".join(struct.pack(">H", len(r)) + r for r in reqs)


seeds = {
    "get-info": entry(0, b"\x04"),
    "mc-none": entry(0, mc()),
    "mc-rk-prf-credprops": entry(0, b"\x01" + cbor.encode({
            1: CDH, 2: {"id": "example.com"}, 3: {"id": b"u3", "name": "c"}, 4: ES256,
            5: [{"id": FAKE_ID, "type": "public-key"}],
            6: {"prf": {"eval": {"first": S1, "second": S2}}, "credProps": True},
            7: {"rk": True, "uv": True}})),
    "mc-packed": entry(2, b"\x01" + cbor.encode({1: CDH, 2: {"id": "a"}, 3: {"id": b"u"}, 4: ES256,
                                                  11: ["packed", "none"]})),
    "mc-pin": entry(0, b"\x01" + cbor.encode({1: CDH, 2: {"id": "a"}, 3: {"id": b"u"}, 4: ES256,
                                               8: b"", 9: 1})),
    "mc-declined": entry(4, mc()),
    "ga-discoverable-phone": entry(8, ga(), b"\x08"),
    "ga-discoverable-list": entry(1, b"\x02" + cbor.encode({1: "example.com", 2: CDH,
                                                            4: {"prf": {"eval": {"first": S1}}}}),
                                  b"\x08", b"\x08", b"\x08"),
    "ga-allow": entry(0, b"\x02" + cbor.encode({1: "example.com", 2: CDH,
                                                3: [{"id": FAKE_ID, "type": "public-key"}],
                                                4: {"prf": {"evalByCredential": {FAKE_ID: {"first": S2}}}},
                                                5: {"up": True, "uv": True}})),
    "ga-silent": entry(0, b"\x02" + cbor.encode({1: "example.com", 2: CDH, 5: {"up": False}})),
    "selection": entry(0, b"\x0b"),
    "noncanonical": entry(0, b"\x02\xa2\x02\x58\x20" + CDH + b"\x01\x61a"),
}

out = os.path.join(root, "corpus", "fuzz-authenticator")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

# Stores: empty, and with passkeys, written by the real file backend.
out = os.path.join(root, "corpus", "fuzz-cred-store")
os.makedirs(out, exist_ok=True)
with tempfile.TemporaryDirectory() as d:
    for n in (0, 1, 3):
        path = os.path.join(d, "s%d" % n)
        reqs = "".join(
            (b"\x01" + cbor.encode({1: CDH, 2: {"id": "rp%d.example" % (i % 2)},
                                    3: {"id": b"user%d" % i, "name": "n%d" % i, "displayName": "D\u00e9 %d" % i},
                                    4: ES256, 7: {"rk": True}})).hex() + "\n" for i in range(n))
        subprocess.run([helper, "--store", path], input=reqs, universal_newlines=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        with open(path, "rb") as src, open(os.path.join(out, "store-%d" % n), "wb") as dst:
            dst.write(src.read())
