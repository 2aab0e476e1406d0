#!/usr/bin/python3
"""Plays the kernel's /dev/uhid for cable-uhid-helper (a SOCK_SEQPACKET socketpair passed as
--uhid-fd): checks the CREATE2 it writes (FIDO descriptor, BUS_USB, 1209:0001), sends START, then
hidraw writes as OUTPUT events (65 bytes, report ID 0) and reads the INPUT2 answers that the helper
relays from cable-bridged: INIT and getInfo. Usage: uhid_kernel.py HELPER SOCKET."""
import os
import socket
import struct
import subprocess
import sys

from fido2 import cbor

HELPER, SOCK = sys.argv[1], sys.argv[2]
EV = 4380
DESC = bytes.fromhex("06d0f10901a1010920150026ff0075089540810209211500"
                     "26ff00750895409102c0")


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
    print("ok:", what)


k, h = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
k.settimeout(10)
p = subprocess.Popen([HELPER, "--connect", SOCK, "--uid", str(os.getuid()), "--user", "nobody",
                      "--uhid-fd", str(h.fileno())], pass_fds=[h.fileno()])
h.close()
ev = k.recv(EV)
t = struct.unpack_from("<I", ev)[0]
check(t == 11, "helper writes CREATE2 (type %d)" % t)
rd_size, bus, vendor, product = struct.unpack_from("<HHII", ev, 260)
check(rd_size == 34 and ev[280:280 + 34] == DESC, "the 34-byte FIDO report descriptor")
check(bus == 3 and vendor == 0x1209 and product == 0x0001, "BUS_USB, 1209:0001")
check(ev[4:4 + 31].rstrip(b"\0") == b"cable-bridge (phone via hybrid)", "device name")
k.send(struct.pack("<IQ", 2, 0).ljust(EV, b"\0"))  # START


def hid_write(pkt):
    e = bytearray(EV)
    struct.pack_into("<I", e, 0, 6)
    data = b"\0" + pkt.ljust(64, b"\0")
    e[4:4 + len(data)] = data
    struct.pack_into("<HB", e, 4100, len(data), 1)
    k.send(bytes(e))


def hid_read():
    while True:
        e = k.recv(EV)
        t = struct.unpack_from("<I", e)[0]
        if t == 12:
            n = struct.unpack_from("<H", e, 4)[0]
            return e[6:6 + n]


nonce = os.urandom(8)
hid_write(b"\xff\xff\xff\xff\x86\x00\x08" + nonce)
r = hid_read()
check(r[4] == 0x86 and r[7:15] == nonce, "INIT answered through the helper")
cid = r[15:19]
hid_write(cid + b"\x90\x00\x01\x04")
r = hid_read()
n = struct.unpack(">H", r[5:7])[0]
body = r[7:7 + min(n, 57)]
seq = 0
while len(body) < n:
    c = hid_read()
    check(c[:4] == cid and c[4] == seq, "continuation %d" % seq)
    body += c[5:5 + min(59, n - len(body))]
    seq += 1
check(body[0] == 0 and cbor.decode(body[1:])[3] == bytes.fromhex("767bb5ca90e942ac8e3ebc3cc0a6c76d"),
      "getInfo from cable-bridged, relayed")
# GET_REPORT is refused at once with EIO (a silent helper would block the caller 5 s).
k.send(struct.pack("<IIBB", 9, 77, 0, 1).ljust(EV, b"\0"))
while True:
    e = k.recv(EV)
    if struct.unpack_from("<I", e)[0] == 10:
        break
check(struct.unpack_from("<IH", e, 4) == (77, 5), "GET_REPORT answered with EIO")
with open("/proc/%d/status" % p.pid) as f:
    uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
check(uid == "65534", "helper runs as nobody after setup (uid %s)" % uid)
print("ready", flush=True)
# The test stops cable-bridged now; the helper must then destroy the device and exit 0.
e = k.recv(EV)
while struct.unpack_from("<I", e)[0] != 1:
    e = k.recv(EV)
check(True, "DESTROY written when cable-bridged went away")
check(p.wait(10) == 0, "helper exited 0")
