#!/usr/bin/python3
# Stress client: several raw CTAPHID clients at once on the socket transport. Each sees every
# report (as hidraw readers do) and checks the whole stream: messages never interleave, SEQ runs
# 0, 1, 2…, only known commands appear; its own PINGs come back intact despite CHANNEL_BUSY.
import os
import select
import socket
import struct
import sys
import threading  # noqa: F401 (lock for the per-process stats)
import time

PATH = sys.argv[1]
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
KNOWN = {0x01, 0x03, 0x04, 0x06, 0x08, 0x10, 0x11, 0x3B, 0x3F}
errors = []
stats = {"pings": 0, "busy": 0, "reports": 0}
lock = threading.Lock()


def fail(msg):
    with lock:
        errors.append(msg)


class Client:
    def __init__(self, idx):
        self.idx = idx
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(PATH)
        self.cid = 0xFFFFFFFF
        # Stream checker state: the message being received (any channel).
        self.cur = None  # (cid, cmd, length, got, seq)

    def write(self, pkt):
        self.s.send(pkt.ljust(64, b"\0"))

    def send(self, cmd, data):
        self.write(struct.pack(">IBH", self.cid, 0x80 | cmd, len(data)) + data[:57])
        off, seq = 57, 0
        while off < len(data):
            self.write(struct.pack(">IB", self.cid, seq) + data[off:off + 59])
            off, seq = off + 59, seq + 1

    def read_report(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.s], [], [], left)[0]:
            raise TimeoutError("client %d: no report" % self.idx)
        p = self.s.recv(64)
        with lock:
            stats["reports"] += 1
        if len(p) != 64:
            fail("report of %d bytes" % len(p))
        return p

    def next_message(self, deadline):
        """The next complete message in the stream, whatever its channel, checked strictly."""
        p = self.read_report(deadline)
        cid, b4 = struct.unpack_from(">IB", p)
        if not b4 & 0x80:
            fail("client %d: continuation without a message in progress" % self.idx)
            return None
        cmd, n = b4 & 0x7F, struct.unpack_from(">H", p, 5)[0]
        if cmd not in KNOWN or cmd == 0x11:
            fail("client %d: command %#x in the stream" % (self.idx, cmd))
        data, seq = p[7:7 + n], 0
        while len(data) < n:
            q = self.read_report(deadline)
            qcid, qseq = struct.unpack_from(">IB", q)
            if qcid != cid or qseq != seq:
                fail("client %d: interleaved or out of order (cid %08x seq %d in %08x)" % (self.idx, qcid, qseq, cid))
                return None
            data += q[5:5 + n - len(data)]
            seq += 1
        return cid, cmd, data

    def call(self, cmd, data, deadline):
        while True:
            m = self.next_message(deadline)
            if m is None:
                return None
            cid, rcmd, rdata = m
            if cid != self.cid:
                continue
            if rcmd == 0x3B:
                continue
            return rcmd, rdata

    def run(self):
        end = time.monotonic() + SECONDS
        nonce = os.urandom(8)
        self.send(0x06, nonce)
        while True:
            m = self.next_message(end + 10)
            if m and m[1] == 0x06 and m[2][:8] == nonce:
                self.cid = struct.unpack_from(">I", m[2], 8)[0]
                break
        n = 0
        while time.monotonic() < end and not errors:
            data = os.urandom((self.idx * 397 + n * 131) % 600)
            n += 1
            while True:
                self.send(0x01, data)
                r = self.call(0x01, data, time.monotonic() + 10)
                if r is None:
                    return
                if r == (0x3F, b"\x06"):
                    with lock:
                        stats["busy"] += 1
                    time.sleep(0.002)
                    continue
                if r != (0x01, data):
                    fail("client %d: PING of %d bytes came back as %r" % (self.idx, len(data), (r[0], len(r[1]))))
                    return
                with lock:
                    stats["pings"] += 1
                # Paced like a real client; every reader has to keep up with all the streams.
                time.sleep(0.004)
                break
        self.s.close()


def child(idx, wfd):
    """One client per process, so that their writes really overlap at the key."""
    c = Client(idx)
    try:
        c.run()
    except Exception as e:  # noqa: BLE001 (report any failure of the client)
        fail("client %d: %r" % (idx, e))
    os.write(wfd, repr((errors, stats)).encode())
    os._exit(0)


pipes, pids = [], []
for i in range(CLIENTS):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        child(i, w)
    os.close(w)
    pipes.append(r)
    pids.append(pid)
for r in pipes:
    buf = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        buf += chunk
    os.close(r)
    if not buf:
        errors.append("a client died without a report")
        continue
    e, st = eval(buf.decode(), {})  # our own repr of lists and dicts of numbers and strings
    errors.extend(e)
    for k in stats:
        stats[k] += st[k]
for pid in pids:
    os.waitpid(pid, 0)
print("hid-stress: %d clients, %d pings, %d busy replies, %d reports read" %
      (CLIENTS, stats["pings"], stats["busy"], stats["reports"]), file=sys.stderr)
# (How often CHANNEL_BUSY comes depends on timing; the python-fido2 test checks it exactly.)
if errors or stats["pings"] < 10 * CLIENTS:
    for e in errors[:10]:
        print("hid-stress: FAILED:", e, file=sys.stderr)
    if not errors:
        print("hid-stress: FAILED: too little traffic", file=sys.stderr)
    sys.exit(1)
