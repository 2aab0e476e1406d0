#!/usr/bin/python3
# Test client: python-fido2 (Debian's 0.9.1) and raw CTAPHID against a key on the socket transport
# (argument: the socket path) or on a real hidraw node (argument: /dev/hidrawN).
import os
import select
import socket
import struct
import sys
import threading

from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.hid import CTAPHID, CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

if os.environ.get("CABLE_PY_DEBUG"):
    import logging
    logging.basicConfig(level=logging.DEBUG)

PATH = sys.argv[1]
HIDRAW = PATH.startswith("/dev/")
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("hid-python-fido2: FAILED:", what, file=sys.stderr)


class SeqpacketConnection(CtapHidConnection):
    """One 64-byte report per SOCK_SEQPACKET packet, like a hidraw node."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(10)
        self.sock.connect(path)

    def write_packet(self, data):
        # hidraw style: report ID 0, then the 64-byte packet.
        self.sock.send(b"\0" + data)

    def read_packet(self):
        return self.sock.recv(64)

    def close(self):
        self.sock.close()


def open_device():
    if HIDRAW:
        # python-fido2's own discovery: it parses our report descriptor from the kernel.
        from fido2.hid import list_devices
        devs = [d for d in list_devices() if d.descriptor.path == PATH]
        check(len(devs) == 1, "python-fido2 lists %s" % PATH)
        d = devs[0]
        check(d.descriptor.vid == 0x1209 and d.descriptor.pid == 0x0001, "VID:PID %r" % (d.descriptor,))
        check(d.descriptor.report_size_in == 64 and d.descriptor.report_size_out == 64, "64-byte reports")
        return d
    desc = HidDescriptor(PATH, 0x1209, 0x0001, 64, 64)
    return CtapHidDevice(desc, SeqpacketConnection(PATH))


# INIT: a channel, protocol 2, capabilities WINK|CBOR|NMSG.
dev = open_device()
check(dev.version == 2, "CTAPHID version 2")
check(dev.capabilities == 0x0D, "capabilities 0x0d, got %#x" % dev.capabilities)
check(dev.device_version == (0, 1, 0), "device version")

# PING at the fragmentation boundaries, up to the largest message. On a real hidraw node the
# kernel's uhid queue holds 31 unread events and drops the rest ("Output queue is full"), and
# hidraw writes never wait: a daemon that falls behind (an emulated guest on a loaded host does)
# loses packets of longer messages. 31 packets (1827 bytes) always fit.
sizes = (0, 1, 57, 58, 116, 117, 1000, 1827 if HIDRAW else 7609)
for n in sizes:
    data = os.urandom(n)
    check(dev.ping(data) == data, "ping %d" % n)

dev.wink()

# LOCK is not advertised, U2F (MSG) is refused so that clients fall back cleanly.
for what, call in (("lock", lambda: dev.lock(5)),
                   ("msg", lambda: dev.call(CTAPHID.MSG, b"\0\3\0\0\0\0\0"))):
    try:
        call()
        check(False, what + " accepted")
    except CtapError as e:
        check(e.code == CtapError.ERR.INVALID_COMMAND, what + ": " + str(e))

# getInfo through python-fido2's CTAP2 layer (it re-encodes and compares: canonical CBOR).
ctap = Ctap2(dev)
info = ctap.info
check(info.versions == ["FIDO_2_0", "FIDO_2_1"], "versions %r" % info.versions)
check(info.aaguid == b"\0" * 16, "aaguid")
check(info.options == {"rk": True, "up": True, "uv": True, "plat": False}, "options %r" % info.options)
check(info.max_msg_size == 7609, "maxMsgSize %r" % info.max_msg_size)
check(info.max_creds_in_list == 8, "maxCredentialCountInList")
check(info.max_cred_id_length == 128, "maxCredentialIdLength")

# An unknown CTAP2 command: status 0x01, not a CTAPHID error.
check(dev.call(CTAPHID.CBOR, b"\x42") == b"\x01", "unknown CTAP2 command")

# CANCEL: selection waits for a touch; python-fido2 sends CANCEL once the event is set and the
# request ends with CTAP2_ERR_KEEPALIVE_CANCEL.
event = threading.Event()
statuses = []
timer = threading.Timer(0.3, event.set)
timer.start()
try:
    ctap.selection(event=event, on_keepalive=statuses.append)
    check(False, "selection returned without touch")
except CtapError as e:
    check(e.code == CtapError.ERR.KEEPALIVE_CANCEL, "selection ended with %s" % e)
timer.cancel()
check(2 in statuses, "UPNEEDED keepalive seen: %r" % statuses)
check(ctap.get_info().versions == ["FIDO_2_0", "FIDO_2_1"], "getInfo after cancel")
dev.close()


# Raw clients: two connections (or two open hidraw files) see every report, filter by CID like Chrome.
class Raw:
    def __init__(self):
        if HIDRAW:
            self.fd = os.open(PATH, os.O_RDWR)
        else:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.s.connect(PATH)
            self.fd = self.s.fileno()
        self.cid = 0xFFFFFFFF

    def _write(self, pkt):
        os.write(self.fd, b"\0" + pkt.ljust(64, b"\0"))

    def _read(self):
        r, _, _ = select.select([self.fd], [], [], 5)
        if not r:
            raise TimeoutError("no report within 5 s")
        return os.read(self.fd, 64)

    def send(self, cmd, data=b"", cid=None):
        cid = self.cid if cid is None else cid
        self._write(struct.pack(">IBH", cid, 0x80 | cmd, len(data)) + data[:57])
        off, seq = 57, 0
        while off < len(data):
            self._write(struct.pack(">IB", cid, seq) + data[off:off + 59])
            off, seq = off + 59, seq + 1

    def recv(self, skip_keepalive=True):
        """The next whole message on our CID."""
        while True:
            p = self._read()
            check(len(p) == 64, "report of 64 bytes")
            cid, cmd, n = struct.unpack_from(">IBH", p)
            if cid != self.cid:
                continue
            data = p[7:7 + n]
            seq = 0
            while len(data) < n:
                q = self._read()
                qcid, qseq = struct.unpack_from(">IB", q)
                check(qcid == cid and qseq == seq, "continuation in order")
                data += q[5:5 + n - len(data)]
                seq += 1
            if skip_keepalive and cmd == 0x80 | CTAPHID.KEEPALIVE:
                continue
            return cmd & 0x7F, data

    def init(self):
        nonce = os.urandom(8)
        self.send(CTAPHID.INIT, nonce)
        while True:
            cmd, data = self.recv()
            if cmd == CTAPHID.INIT and data[:8] == nonce:
                check(len(data) == 17, "INIT reply of 17 bytes")
                self.cid = struct.unpack_from(">I", data, 8)[0]
                return


a, b = Raw(), Raw()
a.init()
b.init()
check(a.cid != b.cid and a.cid not in (0, 0xFFFFFFFF), "distinct channels")
a.send(CTAPHID.CBOR, b"\x0b")  # waits for a touch
cmd, data = a.recv(skip_keepalive=False)  # the key is busy once A hears a keepalive
check(cmd == CTAPHID.KEEPALIVE and data == b"\x02", "UPNEEDED keepalive on A")
b.send(CTAPHID.PING, b"hi")
cmd, data = b.recv()
check(cmd == CTAPHID.ERROR and data == b"\x06", "CHANNEL_BUSY for the other channel")
a.send(CTAPHID.CANCEL)
cmd, data = a.recv()
check(cmd == CTAPHID.CBOR and data == b"\x2d", "cancelled request ends with 0x2D")
b.send(CTAPHID.PING, b"hi")
check(b.recv() == (CTAPHID.PING, b"hi"), "free again after cancel")
# Malformed traffic on B leaves A alone.
b.send(CTAPHID.CBOR, b"")
check(b.recv() == (CTAPHID.ERROR, b"\x03"), "empty CBOR: INVALID_LEN")
b.send(CTAPHID.PING, b"", cid=0x12345678)
b.cid, saved = 0x12345678, b.cid
check(b.recv() == (CTAPHID.ERROR, b"\x0b"), "unknown CID: INVALID_CHANNEL")
b.cid = saved
a.send(CTAPHID.PING, b"x" * 300)
check(a.recv() == (CTAPHID.PING, b"x" * 300), "A unaffected")

if failures:
    print("hid-python-fido2: %d checks failed" % failures, file=sys.stderr)
    sys.exit(1)
print("hid-python-fido2: all checks passed", file=sys.stderr)
