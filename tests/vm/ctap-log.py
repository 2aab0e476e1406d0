#!/usr/bin/python3
# Summarises what a client sent to the key: reads uhid-softkey's (or cable-bridged's) request log
# and prints one line per CTAP request: the command, its CBOR keys and what matters in them
# (options, list lengths, a silent probe's all-zero-UV/UP, extensions), then the answer's status.
# Usage: ctap-log.py LOG
import hashlib
import sys

from fido2 import cbor

NAMES = {1: "makeCredential", 2: "getAssertion", 4: "getInfo", 6: "clientPIN", 8: "getNextAssertion",
         9: "bioEnrollment", 0x0A: "credentialManagement", 0x0B: "selection", 0x0C: "largeBlobs",
         0x0D: "config"}
EMPTY_HASH = hashlib.sha256(b"").digest()


def describe(cmd, m):
    if not isinstance(m, dict):
        return ""
    keys = "keys " + ",".join(str(k) for k in sorted(m))
    bits = [keys]
    if cmd == 1:
        bits.append("rp=%s" % m.get(2, {}).get("id"))
        bits.append("algs=%s" % [p.get("alg") for p in m.get(4, [])])
        if 5 in m:
            bits.append("excludeList=%d" % len(m[5]))
    if cmd == 2:
        bits.append("rp=%s" % m.get(1))
        if 3 in m:
            bits.append("allowList=%d" % len(m[3]))
        if m.get(2) == EMPTY_HASH:
            bits.append("clientDataHash=SHA-256('')")
    if 7 in m and cmd == 1 or 5 in m and cmd == 2:
        bits.append("options=%s" % (m.get(7) if cmd == 1 else m.get(5)))
    ext = m.get(6) if cmd == 1 else m.get(4)
    if ext:
        bits.append("extensions=%s" % sorted(ext))
    if (cmd == 1 and 8 in m) or (cmd == 2 and 6 in m):
        bits.append("pinUvAuthParam")
    return " ".join(bits)


for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 3 and f[0] == "request":
        data = bytes.fromhex(f[2]) if f[2] != "-" else b""
        if f[1] != "cbor" or not data:
            print("%s %s" % (f[1], f[2][:16]))
            continue
        cmd = data[0]
        try:
            m = cbor.decode(data[1:]) if len(data) > 1 else None
        except Exception as e:  # a client sent something we cannot read: say so
            m, desc = None, "undecodable CBOR (%s)" % e
        else:
            desc = describe(cmd, m)
        print("%-16s %s" % (NAMES.get(cmd, "0x%02x" % cmd), desc), end="")
    elif len(f) >= 2 and f[0] == "answer":
        print("  -> status %s (%s bytes)" % (f[1], f[2] if len(f) > 2 else "?"))
    elif f and f[0] in ("cancel", "abort"):
        print(" ".join(f))
