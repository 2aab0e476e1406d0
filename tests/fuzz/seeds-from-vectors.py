#!/usr/bin/python3
# Writes the vector-derived seeds of the fuzz corpora (the rest come from CABLE_FUZZ_WRITE_SEEDS).
# Usage: tests/fuzz/seeds-from-vectors.py [vectors.json]   (run from the source tree)
import json
import os
import sys

vectors = sys.argv[1] if len(sys.argv) > 1 else "../shared/vectors/hybrid-vectors.json"
here = os.path.dirname(os.path.abspath(__file__))
by_name = {v["name"]: v for v in json.load(open(vectors))}


def seed(harness, name, selector, hexdata):
    d = os.path.join(here, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vector-" + name), "wb") as f:
        f.write(bytes([selector]) + bytes.fromhex(hexdata))


pt = by_name["post_handshake_android_chrome"]["inputs"]["plaintext_cbor"]
seed("fuzz-messages", "post_handshake_android_chrome-qr", 0, pt)
seed("fuzz-messages", "post_handshake_android_chrome-linked", 1, pt)
for name, v in by_name.items():
    if name.startswith("frame_"):
        data = v["expected"].get("bytes") or v["inputs"].get("bytes")
        seed("fuzz-messages", name, 5, data)
    if name.startswith("strip_frame_padding"):
        seed("fuzz-crypter", name, 1, v["inputs"]["decrypted"])
