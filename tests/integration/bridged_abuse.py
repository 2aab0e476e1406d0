#!/usr/bin/python3
"""A hostile local client against cable-bridged's HID socket while a well-behaved one is served.

Usage: bridged_abuse.py SOCKET SECONDS. The hostile client (its own connection, as another
process opening the same hidraw node) sends malformed INIT, bad sequence numbers, wrong lengths,
interleaved channels, channel exhaustion (INIT floods) and cancel storms, and checks the error
the bridge gives where CTAPHID defines one. The good client, on its own channel, runs PING echoes
and getInfo the whole time; every answer must be correct. As CTAPHID allows, it retries a request
answered ERR_CHANNEL_BUSY (the hostile client holds the key mid-message), for at most 5 s, and
re-INITs if the INIT flood evicted its idle channel (the table is bounded), and asks again for
an answer lost in the flood (all readers get all reports, as with hidraw); all are counted, and
lost answers may be at most 1 % of requests.
Prints "ok: ..." lines and a summary; exits 1 on the first wrong answer.
"""
import os
import socket
import struct
import sys
import threading
import time

SOCK, SECS = sys.argv[1], float(sys.argv[2])
PING, INIT, CBOR, CANCEL, ERROR, KEEPALIVE = 0x01, 0x06, 0x10, 0x11, 0x3F, 0x3B
BCAST = 0xFFFFFFFF
ERR_INVALID_CMD, ERR_INVALID_LEN, ERR_INVALID_SEQ, ERR_CHANNEL_BUSY, ERR_INVALID_CHANNEL = 1, 3, 4, 6, 0x0B
stop = threading.Event()
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, file=sys.stderr, flush=True)
    stop.set()


class Dev:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(SOCK)

    def raw(self, pkt):
        self.s.send(b"\0" + pkt.ljust(64, b"\0")[:64])

    def send(self, cid, cmd, data, bcnt=None):
        n = len(data) if bcnt is None else bcnt
        self.raw(struct.pack(">IBH", cid, 0x80 | cmd, n) + data[:57])
        data, seq = data[57:], 0
        while data:
            self.raw(struct.pack(">IB", cid, seq) + data[:59])
            data, seq = data[59:], seq + 1

    def recv(self, cid, timeout=10, want_init_nonce=None):
        """The next whole message on cid (keepalives skipped): (cmd, payload)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer on %08x" % cid)
            self.s.settimeout(left)
            pkt = self.s.recv(65)
            if len(pkt) == 65:
                pkt = pkt[1:]
            c, cmd = struct.unpack(">IB", pkt[:5])
            if c != cid or not cmd & 0x80:
                continue
            cmd &= 0x7F
            n = struct.unpack(">H", pkt[5:7])[0]
            data, seq = pkt[7:7 + n], 0
            while len(data) < n:
                self.s.settimeout(max(deadline - time.monotonic(), 0.01))
                p = self.s.recv(65)
                if len(p) == 65:
                    p = p[1:]
                if struct.unpack(">I", p[:4])[0] != cid:
                    continue
                if p[4] != seq:
                    raise ValueError("bad sequence from the bridge")
                data += p[5:5 + n - len(data)]
                seq += 1
            if cmd == KEEPALIVE:
                continue
            if want_init_nonce is not None and (cmd != INIT or data[:8] != want_init_nonce):
                continue
            return cmd, data

    def init(self):
        nonce = os.urandom(8)
        self.send(BCAST, INIT, nonce)
        cmd, data = self.recv(BCAST, 5, nonce)
        return struct.unpack(">I", data[8:12])[0]


def transact(d, cid, cmd, payload, stats):
    """One request as a careful client makes it: CTAPHID_ERR_CHANNEL_BUSY (another process holds
    the key mid-message) is retried after 10 ms; an answer that never comes (every reader of a
    HID device gets every report, and a reader whose buffer is full misses some, as with hidraw)
    is asked for again after 2 s. At most 10 s in all."""
    deadline = time.monotonic() + 10
    while True:
        d.send(cid, cmd, payload)
        try:
            rcmd, data = d.recv(cid, 2)
        except TimeoutError:
            stats["lost"] += 1
            if time.monotonic() < deadline:
                continue
            raise
        if rcmd == ERROR and data[:1] == bytes([ERR_CHANNEL_BUSY]) and time.monotonic() < deadline:
            stats["busy"] += 1
            time.sleep(0.01)
            continue
        return rcmd, data


def good_client(stats):
    d = Dev()
    cid = d.init()
    i = 0
    while not stop.is_set():
        i += 1
        try:
            payload = os.urandom(1 + i % 300)
            t0 = time.monotonic()
            cmd, data = transact(d, cid, PING, payload, stats)
            stats["worst_ms"] = max(stats["worst_ms"], (time.monotonic() - t0) * 1000)
            if cmd == ERROR and data[:1] == bytes([ERR_INVALID_CHANNEL]):
                stats["reinit"] += 1
                cid = d.init()
                continue
            if cmd != PING or data != payload:
                return fail("good client: PING %d answered %02x %s" % (i, cmd, data[:8].hex()))
            if i % 10 == 0:
                cmd, data = transact(d, cid, CBOR, b"\x04", stats)
                if cmd == ERROR and data[:1] == bytes([ERR_INVALID_CHANNEL]):
                    stats["reinit"] += 1
                    cid = d.init()
                    continue
                if cmd != CBOR or data[:1] != b"\x00" or len(data) < 10:
                    return fail("good client: getInfo answered %02x %s" % (cmd, data[:8].hex()))
                stats["getinfo"] += 1
            stats["ping"] += 1
        except (TimeoutError, ValueError, OSError) as e:
            return fail("good client: %s after %d requests" % (e, i))


def probe(d, cid, send, code, what):
    """send() one malformed exchange on cid and expect CTAPHID error code; ERR_CHANNEL_BUSY (the
    good client is mid-message) means try again, for at most 5 s."""
    deadline = time.monotonic() + 5
    while True:
        send()
        cmd, data = d.recv(cid, 5)
        if cmd == ERROR and data[:1] == bytes([ERR_CHANNEL_BUSY]) and code != ERR_CHANNEL_BUSY \
                and time.monotonic() < deadline:
            time.sleep(0.01)
            continue
        if cmd != ERROR or data[:1] != bytes([code]):
            fail("%s: wanted error %02x, got %02x %s" % (what, code, cmd, data[:4].hex()))
            return False
        return True


def hostile(stats):
    d = Dev()
    end = time.monotonic() + SECS
    rounds = 0
    while time.monotonic() < end and not stop.is_set():
        rounds += 1
        try:
            cid = d.init()
            # Malformed INIT: wrong length on the broadcast channel, INIT with 65535 declared.
            d.send(BCAST, INIT, os.urandom(5))
            d.send(BCAST, INIT, os.urandom(8), bcnt=65535)
            # Bad sequence: a two-packet PING whose continuation says 5, not 0.
            def bad_seq():
                d.send(cid, PING, os.urandom(57), bcnt=100)
                d.raw(struct.pack(">IB", cid, 5) + os.urandom(59))
            if not probe(d, cid, bad_seq, ERR_INVALID_SEQ, "bad sequence"):
                return
            # Over the largest message; a command that does not exist.
            if not probe(d, cid, lambda: d.send(cid, PING, b"", bcnt=7610), ERR_INVALID_LEN,
                         "length over 7609"):
                return
            if not probe(d, cid, lambda: d.send(cid, 0x55, b"x"), ERR_INVALID_CMD, "unknown command"):
                return
            # Short and long reports on the socket, continuation without a start, reserved CID 0.
            d.s.send(b"\0" + os.urandom(9))
            d.s.send(b"\0" + os.urandom(200))
            d.raw(struct.pack(">IB", cid, 0) + os.urandom(59))
            d.send(0, PING, b"zero")
            # Interleaved channels: a second channel talks while the first is mid-message.
            cid2 = d.init()
            d.send(cid, PING, os.urandom(57), bcnt=120)
            d.send(cid2, PING, b"x")
            cmd, data = d.recv(cid2, 5)
            if cmd == PING and data == b"x":
                # Our start packet met the good client mid-message: it must have been refused busy.
                cmd, data = d.recv(cid, 5)
                if cmd != ERROR or data[:1] != bytes([ERR_CHANNEL_BUSY]):
                    return fail("interleaved: channel 2 served while channel 1 got %02x" % cmd)
            elif cmd != ERROR or data[:1] != bytes([ERR_CHANNEL_BUSY]):
                return fail("interleaved: second channel got %02x %s, wanted busy" % (cmd, data[:4].hex()))
            else:
                d.raw(struct.pack(">IB", cid, 0) + os.urandom(59))
                d.raw(struct.pack(">IB", cid, 1) + os.urandom(59))
                cmd, data = d.recv(cid, 5)
                if cmd != PING or len(data) != 120:
                    return fail("interleaved: the first channel's PING came back as %02x/%d" % (cmd, len(data)))
            # Channel exhaustion: far more INITs than the table holds.
            for _ in range(100):
                d.send(BCAST, INIT, os.urandom(8))
            # Cancel storm, on our channels and on channels that do not exist.
            for k in range(300):
                d.send(cid if k % 2 else 0x10000000 + k, CANCEL, b"")
            stats["hostile_rounds"] = rounds
        except TimeoutError:
            # The bridge drops output to a client that does not read (its queue is bounded): the
            # flooder loses its own answers. Not a failure; the good client is what counts.
            stats["hostile_lost"] += 1
        except (OSError, ValueError) as e:
            return fail("hostile client lost the bridge: %s (round %d)" % (e, rounds))
        # Drain what the bridge sent us (INIT replies to the flood, errors), without blocking.
        d.s.settimeout(0)
        try:
            while True:
                d.s.recv(65)
        except (BlockingIOError, socket.timeout):
            pass
    stop.set()


stats = {"ping": 0, "getinfo": 0, "reinit": 0, "hostile_rounds": 0, "busy": 0, "worst_ms": 0.0,
         "hostile_lost": 0, "lost": 0}
g = threading.Thread(target=good_client, args=(stats,))
h = threading.Thread(target=hostile, args=(stats,))
g.start()
time.sleep(0.2)
h.start()
h.join()
stop.set()
g.join()
print("summary: hostile rounds %(hostile_rounds)d (%(hostile_lost)d of its own answers dropped); good client %(ping)d PINGs and %(getinfo)d getInfo "
      "answered correctly (slowest %(worst_ms).0f ms), %(busy)d busy retries, %(lost)d answers lost and asked "
      "again, %(reinit)d re-INIT(s) after channel eviction" % stats, flush=True)
if failures:
    sys.exit(1)
if stats["lost"] * 100 > stats["ping"] + stats["getinfo"]:
    print("FAIL: more than 1 % of the good client's answers were lost", file=sys.stderr)
    sys.exit(1)
if stats["ping"] < 20 or stats["hostile_rounds"] < 3:
    print("FAIL: too little happened", file=sys.stderr)
    sys.exit(1)
print("ok: the good client was served correctly throughout")
