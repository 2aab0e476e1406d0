#!/usr/bin/python3
"""Seeds for fuzz-faults from the other harnesses' corpora: target byte, fault N, source mask,
payload. Run from the source tree: tests/fuzz/make-faults-corpus.py (rewrites corpus/fuzz-faults),
then minimise: build-asan/tests/fuzz/fuzz-faults -merge=1 NEWDIR tests/fuzz/corpus/fuzz-faults."""
import os
import shutil
import sys

here = os.path.dirname(os.path.abspath(__file__))
corp = os.path.join(here, "corpus")
out = os.path.join(corp, "fuzz-faults")

# target: (corpus dir, bytes to strip, name filter)
TARGETS = {
    0: ("fuzz-qr", 0, None),           # payload is digits here; harness decodes CBOR: fuzzer adapts
    1: ("fuzz-qr", 0, None),
    2: ("fuzz-messages", 1, "post-handshake"),
    3: ("fuzz-messages", 1, "update"),
    4: ("fuzz-messages", 1, "linking"),
    5: ("fuzz-cred-store", 0, None),
    6: ("fuzz-messages", 1, None),
    7: ("fuzz-authenticator", 3, None), # flags byte and the first request's length
    8: ("fuzz-webauthn", 1, "create"),
    9: ("fuzz-webauthn", 1, "get"),
    10: ("fuzz-advert", 0, None),
}
FAULTS = [(0, 0x0f), (1, 0x0f), (2, 0x01), (3, 0x02), (5, 0x04), (1, 0x18), (9, 0x1f)]

shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
count = 0
for t, (d, strip, filt) in TARGETS.items():
    files = sorted(f for f in os.listdir(os.path.join(corp, d)) if filt is None or f.startswith(filt))[:4]
    for f in files:
        payload = open(os.path.join(corp, d, f), "rb").read()[strip:]
        for n, mask in FAULTS:
            with open(os.path.join(out, "t%d-%s-n%d-m%02x" % (t, f, n, mask)), "wb") as o:
                o.write(bytes([t, n, mask]) + payload)
            count += 1
print("wrote %d seeds to %s" % (count, out), file=sys.stderr)
