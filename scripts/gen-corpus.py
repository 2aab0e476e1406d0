#!/usr/bin/python3
"""Writes the libFuzzer seed corpora under tests/fuzz/corpus/ from the shared vectors.

Run with Debian's /usr/bin/python3 (it needs python3-cryptography for AES):
    /usr/bin/python3 scripts/gen-corpus.py [VECTORS.json]
Files are named after the vector (or what they were built from), so reruns are stable.
"""
import hashlib
import hmac
import json
import os
import re
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    ROOT, "..", "shared", "vectors", "hybrid-vectors.json")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def hkdf(ikm, salt, info, length):
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def derive(secret, salt, typ, length):
    return hkdf(secret, salt, typ.to_bytes(4, "little"), length)


def digits(data):
    partial = [0, 3, 5, 8, 10, 13, 15]
    s = ""
    for i in range(0, len(data), 7):
        chunk = data[i:i + 7]
        width = 17 if len(chunk) == 7 else partial[len(chunk)]
        s += str(int.from_bytes(chunk, "little")).zfill(width)
    return s


def cbor_head(major, arg):
    if arg < 24:
        return bytes([major << 5 | arg])
    for width, ai in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if arg < 1 << (8 * width):
            return bytes([major << 5 | ai]) + arg.to_bytes(width, "big")
    raise ValueError(arg)


def cbor_value(v):
    if isinstance(v, dict) and len(v) == 1:
        (t, x), = v.items()
        if t == "bytes":
            b = bytes.fromhex(x)
            return cbor_head(2, len(b)) + b
        if t == "text":
            b = x.encode()
            return cbor_head(3, len(b)) + b
        if t == "bool":
            return bytes([0xf5 if x else 0xf4])
        if t == "int":
            return cbor_value(x)
    if isinstance(v, bool):
        return bytes([0xf5 if v else 0xf4])
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, str):
        return cbor_head(3, len(v.encode())) + v.encode()
    if isinstance(v, list):
        return cbor_head(4, len(v)) + b"".join(cbor_value(x) for x in v)
    raise ValueError(v)


def cbor_map(m):
    entries = sorted((cbor_value(int(k)), cbor_value(v)) for k, v in m.items())
    entries.sort(key=lambda e: (len(e[0]), e[0]))
    return cbor_head(5, len(entries)) + b"".join(k + v for k, v in entries)


def advert(eid_key, plain):
    enc = Cipher(algorithms.AES(eid_key[:32]), modes.ECB()).encryptor()
    ct = enc.update(plain) + enc.finalize()
    return ct + hmac.new(eid_key[32:], ct, hashlib.sha256).digest()[:4]


def domain(i):
    if i == 0:
        return "cable.ua5v.com"
    if i == 1:
        return "cable.auth.com"
    h = hashlib.sha256(b"caBLEv2 tunnel server domain" + i.to_bytes(2, "little") + b"\0").digest()
    v = int.from_bytes(h[:8], "little")
    tld = ["com", "org", "net", "info"][v & 3]
    v >>= 2
    label = ""
    while v:
        label += "abcdefghijklmnopqrstuvwxyz234567"[v & 31]
        v >>= 5
    return "cable." + label + "." + tld


def write(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    vectors = json.load(open(VECTORS))
    zero_eid_key = derive(bytes(16), b"", 1, 64)  # the fixed key of fuzz-advert.c

    for v in vectors:
        n, inp, exp = v["name"], v["inputs"], v["expected"]
        # fuzz-qr: URLs, digit strings, KnownQRs as URLs.
        if n.startswith("qr_url_"):
            write("fuzz-qr", n, inp["url"])
            if n.endswith("roundtrip"):
                write("fuzz-qr", n + "_lower", "fido:/" + inp["url"][6:])
                write("fuzz-qr", n + "_digits", inp["url"][6:])
        elif n.startswith("base10_") or n.startswith("digits_to_bytes_"):
            write("fuzz-qr", n, exp.get("digits", inp.get("digits", "")))
        elif n.startswith("chromium_known_qr_"):
            write("fuzz-qr", n, "FIDO:/" + digits(cbor_map(inp["cbor_map_canonical"])))
        # fuzz-advert: plaintexts encrypted under the fixed key, with and without suffixes.
        elif n.startswith("eid_plaintext_parse"):
            plain = bytes.fromhex(inp["eid_plaintext"])
            write("fuzz-advert", n, advert(zero_eid_key, plain))
            write("fuzz-advert", n + "_plain", plain)
        elif n.startswith("advert_suffix_"):
            if "suffix_cbor" in inp:
                suffixes = [bytes.fromhex(inp["suffix_cbor"])]
            elif "suffix_map" in inp:
                suffixes = [cbor_map(inp["suffix_map"])]
            else:
                suffixes = [bytes.fromhex(x) for x in inp["suffix_cbor_candidates"]]
            plain = bytes([0]) + bytes(range(1, 11)) + bytes.fromhex("090a0b") + bytes([0, 0])
            for i, sfx in enumerate(suffixes):
                write("fuzz-advert", "%s_%d" % (n, i), advert(zero_eid_key, plain) + sfx)
                if sfx:
                    write("fuzz-advert", "%s_%d_suffix" % (n, i), sfx)
        # fuzz-tunnel-path: the paths of the URL vectors.
        elif n.startswith("connect_url_"):
            write("fuzz-tunnel-path", n, exp["url"].split(domain(inp["domain_id"]), 1)[1])
        elif n.startswith("tunnel_new_url_"):
            write("fuzz-tunnel-path", n, "/cable/new/" + inp["tunnel_id"].upper())
        elif n.startswith("tunnel_id_"):
            write("fuzz-tunnel-path", n + "_connect_lower",
                  "/cable/connect/090a0b/" + exp["tunnel_id"])
    # Contact paths: one short, one at the 1024-byte cap, one with a query (invalid).
    write("fuzz-tunnel-path", "contact_short", "/cable/contact/-wIJ")
    write("fuzz-tunnel-path", "contact_max", "/cable/contact/" + "A" * 1366)
    write("fuzz-tunnel-path", "new_with_query", "/cable/new/" + "0" * 32 + "?x=1")


if __name__ == "__main__":
    main()
