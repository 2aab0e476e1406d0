#!/usr/bin/python3
"""Drives cable-bridged over its SOCK_SEQPACKET HID socket, as browsers and libraries would.

Usage: bridged_client.py SCENARIO. Environment: BRIDGE_SOCK (the socket), BRIDGE_PID (the daemon),
QR_DIR (where it writes qr.url/qr.png), PHONE_CMD (cable-phone with its common arguments, as a
shell word list), WORK (a scratch directory). When a QR code appears for a real request, this
script plays the person with a phone: it runs PHONE_CMD --qr URL (plus per-request extras).

Scenarios: fido2 (python-fido2 client + server: getInfo, registration, assertion), chrome,
firefox, cancel, busy, keepalive, timeout. Each prints "ok: ..." lines and exits non-zero on the
first failure with what was expected and what came.
"""
import hashlib
import json
import os
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from fido2 import cbor
from fido2.ctap2 import AssertionResponse, AttestationObject

SOCK = os.environ["BRIDGE_SOCK"]
QR_DIR = os.environ.get("QR_DIR", "")
WORK = os.environ.get("WORK", "/tmp")
PHONE_CMD = shlex.split(os.environ.get("PHONE_CMD", ""))
BRIDGE_PID = int(os.environ.get("BRIDGE_PID", "0"))
AAGUID = bytes.fromhex("767bb5ca90e942ac8e3ebc3cc0a6c76d")
RP = "example.com"

CBOR, INIT, CANCEL, KEEPALIVE, ERROR = 0x10, 0x06, 0x11, 0x3B, 0x3F
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def ok(msg):
    print("ok:", msg, flush=True)


def fail(msg):
    print("FAIL:", msg, file=sys.stderr, flush=True)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)
    ok(msg)


class Raw:
    """A CTAPHID client on the socket that records every packet with its arrival time."""

    def __init__(self):
        self.cid = None
        self.keepalives = []  # (time, status) of the last transaction
        if SOCK.startswith("/dev/"):
            # A real hidraw node (the QEMU guest test): report ID 0 + 64 bytes out, 64 in.
            self.fd = os.open(SOCK, os.O_RDWR)
            self.s = None
            return
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(30)
        # Kernel receive timestamps (set when the daemon wrote the packet): the cadence measured
        # is the daemon's, not this script's scheduling on a busy machine.
        self.s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.s.connect(SOCK)

    def _write(self, pkt):
        if self.s is None:
            os.write(self.fd, pkt)
        else:
            self.s.send(pkt)

    def _read(self, timeout):
        """One 64-byte report and its arrival time."""
        if self.s is None:
            r, _, _ = select.select([self.fd], [], [], timeout)
            if not r:
                raise TimeoutError("no report")
            return os.read(self.fd, 64), time.monotonic()
        self.s.settimeout(timeout)
        pkt, anc, _, _ = self.s.recvmsg(64, socket.CMSG_SPACE(16))
        now = time.monotonic()
        for level, typ, val in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(val) >= 16:
                sec, nsec = struct.unpack("qq", val[:16])
                now = sec + nsec / 1e9
        return pkt, now

    def send(self, cid, cmd, data):
        pkt = struct.pack(">IBH", cid, 0x80 | cmd, len(data)) + data[:57]
        self._write(b"\0" + pkt.ljust(64, b"\0"))
        data, seq = data[57:], 0
        while data:
            self._write(b"\0" + (struct.pack(">IB", cid, seq) + data[:59]).ljust(64, b"\0"))
            data, seq = data[59:], seq + 1

    def recv(self, cid, timeout=30):
        """One whole message on cid: (cmd, payload); keepalives are recorded, not returned."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer on %08x" % cid)
            pkt, now = self._read(left)
            c, cmd = struct.unpack(">IB", pkt[:5])
            if c != cid:
                continue
            if cmd & 0x80 == 0:
                raise AssertionError("continuation without init")
            cmd &= 0x7F
            n = struct.unpack(">H", pkt[5:7])[0]
            if cmd == KEEPALIVE:
                self.keepalives.append((now, pkt[7]))
                continue
            data, seq = pkt[7:7 + min(n, 57)], 0
            while len(data) < n:
                p, _ = self._read(5)
                c, s_ = struct.unpack(">IB", p[:5])
                if c != cid:
                    raise AssertionError("foreign packet inside a message")
                if s_ != seq:
                    raise AssertionError("wrong SEQ")
                data += p[5:5 + min(59, n - len(data))]
                seq += 1
            return cmd, data

    def init_reply(self, nonce):
        # Every client sees every INIT reply on the broadcast channel: pick ours by its nonce.
        while True:
            cmd, data = self.recv(0xFFFFFFFF, 5)
            if cmd == INIT and data[:8] == nonce:
                return data

    def init(self):
        nonce = os.urandom(8)
        self.send(0xFFFFFFFF, INIT, nonce)
        data = self.init_reply(nonce)
        assert len(data) == 17, data
        self.cid = struct.unpack(">I", data[8:12])[0]
        self.caps = data[16]
        return self.cid

    def cbor(self, payload, timeout=60):
        """Sends a CTAP2 request; returns (status, cbor_bytes) or ("error", code)."""
        self.keepalives = []
        self.send(self.cid, CBOR, payload)
        cmd, data = self.recv(self.cid, timeout)
        if cmd == ERROR:
            return "error", data[0]
        assert cmd == CBOR, cmd
        return data[0], data[1:]

    def cancel(self):
        self.send(self.cid, CANCEL, b"")


def enc(cmd, m):
    return bytes([cmd]) + cbor.encode(m)


def desc(cid):
    return {"type": "public-key", "id": cid, "transports": ["usb", "hybrid"]}


def get_info(raw):
    st, body = raw.cbor(b"\x04")
    expect(st == 0, "getInfo answered locally (status %r)" % st)
    info = cbor.decode(body)
    expect(cbor.encode(info) == body, "getInfo is canonical CBOR")
    expect("FIDO_2_0" in info[1] and "FIDO_2_1" in info[1] and "U2F_V2" not in info[1],
           "versions %r" % info[1])
    expect(info[3] == AAGUID, "our own AAGUID")
    expect(info[4].get("rk") and info[4].get("up") and info[4].get("uv") and "clientPin" not in info[4],
           "options %r" % info[4])
    expect(7 in info and 8 in info, "list limits %r/%r" % (info.get(7), info.get(8)))
    return info


# ---- the phone ----------------------------------------------------------------------------------

class Phone:
    """Waits for a QR code to appear, then runs cable-phone on it (in a thread)."""

    def __init__(self, extra=(), name="phone", start=True):
        self.extra, self.name, self.proc, self.url = list(extra), name, None, None
        self.t = threading.Thread(target=self.run, daemon=True)
        if start:
            self.t.start()

    def run(self):
        path = os.path.join(QR_DIR, "qr.url")
        for _ in range(400):
            try:
                with open(path) as f:
                    self.url = f.read().strip()
                if self.url.startswith("FIDO:/"):
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.025)
        else:
            return
        out = open(os.path.join(WORK, self.name + ".json"), "w")
        self.proc = subprocess.Popen(PHONE_CMD + ["--qr", self.url, "--json"] + self.extra,
                                     stdout=out, stderr=subprocess.STDOUT)
        self.rc = self.proc.wait(timeout=60)

    def join(self):
        self.t.join(60)
        return getattr(self, "rc", None)


def qr_gone():
    return not os.path.exists(os.path.join(QR_DIR, "qr.url")) and \
        not os.path.exists(os.path.join(QR_DIR, "qr.png"))


def wait_qr(timeout=10):
    for _ in range(int(timeout * 40)):
        if os.path.exists(os.path.join(QR_DIR, "qr.url")):
            return True
        time.sleep(0.025)
    return False


def make_credential(raw, rp=RP, exclude=(), phone_extra=()):
    cdh = os.urandom(32)
    req = {1: cdh, 2: {"id": rp, "name": "Example"}, 3: {"id": b"user-1", "name": "alice",
           "displayName": "Alice"}, 4: [{"alg": -7, "type": "public-key"}],
           7: {"rk": True, "uv": True}}
    if exclude:
        req[5] = [desc(c) for c in exclude]
    ph = Phone(phone_extra, "mc")
    st, body = raw.cbor(enc(1, req))
    return cdh, st, body, ph


def get_assertion(raw, creds, rp=RP, phone_extra=(), name="ga", up=None):
    cdh = os.urandom(32)
    req = {1: rp, 2: cdh}
    if creds:
        req[3] = [desc(c) for c in creds]
    req[5] = {"uv": True} if up is None else {"up": up}
    ph = Phone(phone_extra, name)
    st, body = raw.cbor(enc(2, req))
    return cdh, st, body, ph


def register(raw):
    """A real registration through the phone; returns (credential id, public key)."""
    cdh, st, body, ph = make_credential(raw)
    ph.join()
    expect(st == 0, "makeCredential forwarded to the phone and answered (status %r)" % st)
    att = AttestationObject(body)
    expect(att.auth_data.rp_id_hash == hashlib.sha256(RP.encode()).digest(), "registration rpIdHash")
    expect(att.auth_data.flags & 0x45 == 0x45, "UP, UV, AT flags")
    cred = att.auth_data.credential_data
    with open(os.path.join(WORK, "cred"), "w") as f:
        f.write(cred.credential_id.hex())
    return cred


def sig_ok(cdh, body, cred, allowed):
    a = AssertionResponse(body)
    expect(cbor.encode(cbor.decode(body)) == body, "assertion answer is canonical CBOR")
    expect(a.auth_data.rp_id_hash == hashlib.sha256(RP.encode()).digest(), "assertion rpIdHash")
    expect(a.auth_data.flags & 0x01, "assertion has the UP flag")
    expect(a.credential["id"] in allowed, "assertion names an allowed credential")
    expect(set(a.credential.keys()) == {"id", "type"}, "no transports in the descriptor: %r" % a.credential)
    expect(a.number_of_credentials is None, "no numberOfCredentials with an allow list")
    a.verify(cdh, cred.public_key)
    ok("signature verifies with the registered key")
    return a


def kill(sig):
    os.kill(BRIDGE_PID, sig)


# ---- scenarios ----------------------------------------------------------------------------------

def sc_fido2():
    """python-fido2's own client and server, unchanged, over the socket device."""
    from fido2.client import Fido2Client
    from fido2.hid import CtapHidDevice
    from fido2.hid.base import CtapHidConnection, HidDescriptor
    from fido2.server import Fido2Server
    from fido2.webauthn import PublicKeyCredentialRpEntity

    class Conn(CtapHidConnection):
        def __init__(self):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.s.settimeout(60)
            self.s.connect(SOCK)

        def write_packet(self, data):
            self.s.send(b"\0" + data)

        def read_packet(self):
            return self.s.recv(64)

        def close(self):
            self.s.close()

    if SOCK.startswith("/dev/"):
        # python-fido2's own discovery parses the report descriptor the kernel has.
        devs = [d for d in CtapHidDevice.list_devices() if d.descriptor.path == SOCK]
        expect(len(devs) == 1, "python-fido2 lists %s (1209:0001)" % SOCK)
        dev = devs[0]
    else:
        dev = CtapHidDevice(HidDescriptor(SOCK, 0x1209, 0x0001, 64, 64), Conn())
    client = Fido2Client(dev, "https://example.com")
    info = client.info
    expect("FIDO_2_1" in info.versions and info.aaguid == AAGUID, "python-fido2 reads our getInfo")
    server = Fido2Server(PublicKeyCredentialRpEntity("example.com", "Example"))
    user = {"id": b"user-42", "name": "bob", "displayName": "Bob"}
    opts, state = server.register_begin(user, user_verification="required")
    ph = Phone([], "fido2-mc")
    res = client.make_credential(opts["publicKey"])
    ph.join()
    auth_data = server.register_complete(state, res.client_data, res.attestation_object)
    cred = auth_data.credential_data
    ok("python-fido2 server verified the registration (credential %s...)" % cred.credential_id.hex()[:16])
    opts, state = server.authenticate_begin([cred], user_verification="required")
    ph = Phone([], "fido2-ga")
    sel = client.get_assertion(opts["publicKey"])
    ph.join()
    r = sel.get_response(0)
    server.authenticate_complete(state, [cred], r.credential_id, r.client_data, r.authenticator_data,
                                 r.signature)
    ok("python-fido2 server verified the assertion")
    expect(qr_gone(), "QR code withdrawn after the sessions")


def sc_chrome():
    """What Chrome sends (virtual-key.md §2): getInfo, selection with two keys, a real request."""
    raw = Raw()
    raw.init()
    expect(raw.caps & 0x04 and raw.caps & 0x08, "INIT: CBOR and NMSG capabilities %#x" % raw.caps)
    get_info(raw)
    cred = register(raw)
    info = get_info(raw)
    expect(info.get(2) == ["prf"] and info[10] == [{"alg": -7, "type": "public-key"}],
           "after a session, getInfo is refined by the phone's (extensions %r, algorithms %r)" %
           (info.get(2), info[10]))

    # Selection (FIDO_2_1): pending until the person picks the phone (SIGUSR1).
    threading.Timer(0.5, kill, (signal.SIGUSR1,)).start()
    t0 = time.monotonic()
    st, body = raw.cbor(b"\x0b")
    expect(st == 0 and body == b"", "selection answered OK after the local user action")
    expect(time.monotonic() - t0 >= 0.4, "selection waited for the user")
    expect(any(s == 2 for _, s in raw.keepalives), "UPNEEDED keepalives while waiting")
    # The person touches the other key: Chrome cancels the selection on this one.
    threading.Timer(0.3, raw.cancel).start()
    st, body = raw.cbor(b"\x0b")
    expect(st == 0x2D, "selection cancelled by the client -> 0x2D (got %r)" % st)

    # Real getAssertion with the one allowed credential (Chrome never probes caBLE/HID with one batch).
    cdh, st, body, ph = get_assertion(raw, [cred.credential_id])
    ph.join()
    expect(st == 0, "getAssertion forwarded and answered (status %r)" % st)
    sig_ok(cdh, body, cred, [cred.credential_id])
    expect(qr_gone(), "QR withdrawn")


def sc_firefox():
    """What Firefox sends (virtual-key.md §2.4, §3): silent pre-flight probes, blink, selection."""
    raw = Raw()
    raw.init()
    get_info(raw)
    cred = register(raw)
    other1, other2 = os.urandom(32), os.urandom(48)
    allow = [other1, cred.credential_id, other2]

    # Pre-flight: getAssertion up=false, cdh = SHA-256(""), the whole list in one chunk.
    probe = {1: RP, 2: hashlib.sha256(b"").digest(), 3: [desc(c) for c in allow], 5: {"up": False}}
    st, body = raw.cbor(enc(2, probe))
    expect(st == 0, "probe answered locally with an assertion (status %r)" % st)
    a = cbor.decode(body)
    expect(a[1]["id"] == other1 and a[5] == 3, "first probed credential, numberOfCredentials 3")
    expect(a[2][32] & 0x01 == 0 and len(a[3]) == 0, "no UP flag, no signature")
    seen = [a[1]["id"]]
    for _ in range(2):
        st, body = raw.cbor(b"\x08")
        expect(st == 0, "getNextAssertion served locally")
        seen.append(cbor.decode(body)[1]["id"])
    expect(seen == allow, "every probed credential returned, so the list survives intact")
    st, _ = raw.cbor(b"\x08")
    expect(st == 0x30, "getNextAssertion after the last -> NOT_ALLOWED")
    expect(qr_gone(), "no QR code for a probe")

    # The real request with the list Firefox kept (all three): the phone picks its own.
    cdh, st, body, ph = get_assertion(raw, allow, name="ff-ga")
    ph.join()
    expect(st == 0, "real getAssertion forwarded with the full list (status %r)" % st)
    sig_ok(cdh, body, cred, allow)

    # Exclude list: probe first (every credential comes back), then makeCredential with the list.
    probe = {1: RP, 2: hashlib.sha256(b"").digest(), 3: [desc(cred.credential_id)], 5: {"up": False}}
    st, body = raw.cbor(enc(2, probe))
    expect(st == 0 and cbor.decode(body)[1]["id"] == cred.credential_id, "exclude-list probe keeps the credential")
    cdh, st, body, ph = make_credential(raw, exclude=[cred.credential_id])
    ph.join()
    expect(st == 0x19, "excludeList reached the phone: CREDENTIAL_EXCLUDED (got %r)" % st)

    # block_and_blink with FIDO_2_1 is a selection; the person declines (SIGUSR2).
    threading.Timer(0.3, kill, (signal.SIGUSR2,)).start()
    st, _ = raw.cbor(b"\x0b")
    expect(st == 0x27, "selection declined -> OPERATION_DENIED")
    # make.me.blink dummy makeCredential: picked -> PIN_NOT_SET, never a credential.
    blink = {1: os.urandom(32), 2: {"id": "make.me.blink"}, 3: {"id": b"\x01", "name": "dummy"},
             4: [{"alg": -7, "type": "public-key"}]}
    threading.Timer(0.3, kill, (signal.SIGUSR1,)).start()
    st, body = raw.cbor(enc(1, blink))
    expect(st == 0x35 and body == b"", "make.me.blink picked -> PIN_NOT_SET, no attestation")
    expect(qr_gone(), "no QR code for touch requests")


def sc_cancel():
    """CANCEL while the QR code is shown: 0x2D at once, QR withdrawn, hook told."""
    raw = Raw()
    raw.init()
    req = {1: RP, 2: os.urandom(32), 5: {"uv": True}}
    raw.keepalives = []
    raw.send(raw.cid, CBOR, enc(2, req))
    expect(wait_qr(), "QR code shown for a real request")
    time.sleep(0.3)
    t0 = time.monotonic()
    raw.cancel()
    cmd, data = raw.recv(raw.cid, 5)
    dt = time.monotonic() - t0
    expect(cmd == CBOR and data == b"\x2d", "CANCEL answered with 0x2D")
    print("cancel: 0x2D %.1f ms after CANCEL" % (dt * 1000))
    expect(dt < 0.1, "at once (%.1f ms)" % (dt * 1000))
    for _ in range(100):
        if qr_gone():
            break
        time.sleep(0.02)
    expect(qr_gone(), "QR files removed")
    expect(all(s == 1 for _, s in raw.keepalives) and raw.keepalives, "PROCESSING keepalives while scanning")


def sc_busy():
    """A second channel while a request is pending: CHANNEL_BUSY; the first is not disturbed."""
    a, b = Raw(), Raw()
    a.init()
    b.init()
    expect(a.cid != b.cid, "two channels")
    a.send(a.cid, CBOR, enc(2, {1: RP, 2: os.urandom(32)}))
    expect(wait_qr(), "first channel's request pending (QR shown)")
    b.send(b.cid, CBOR, b"\x04")
    cmd, data = b.recv(b.cid, 5)
    expect(cmd == ERROR and data[0] == 0x06, "second channel gets CHANNEL_BUSY")
    nonce = os.urandom(8)
    b.send(0xFFFFFFFF, INIT, nonce)
    expect(len(b.init_reply(nonce)) == 17, "INIT still answered while busy")
    a.cancel()
    cmd, data = a.recv(a.cid, 5)
    expect(data == b"\x2d", "first channel cancelled cleanly")
    for _ in range(100):
        st, _ = b.cbor(b"\x04")
        if st == 0:
            break
        time.sleep(0.05)
    expect(st == 0, "second channel served once the first is done")


def sc_keepalive():
    """KEEPALIVE cadence with a slow phone (--delay-ms): every 100 ms, within 20 ms."""
    raw = Raw()
    raw.init()
    cred_id = bytes.fromhex(open(os.path.join(WORK, "cred")).read())
    cdh, st, body, ph = get_assertion(raw, [cred_id], phone_extra=["--delay-ms", "2500"], name="slow")
    ph.join()
    expect(st == 0, "slow phone answered")
    if os.environ.get("CABLE_VALGRIND"):
        ok("keepalive cadence not timed under valgrind (%d keepalives)" % len(raw.keepalives))
        return
    ka = raw.keepalives
    ups = [t for t, s in ka if s == 2]
    expect(len(ups) >= 20, "UPNEEDED keepalives while the phone waited (%d)" % len(ups))
    # PROCESSING while connecting (only seen when that takes over 100 ms), then UPNEEDED only.
    statuses = [s for _, s in ka]
    expect(statuses == sorted(statuses) and set(statuses) <= {1, 2},
           "PROCESSING, then UPNEEDED once the request reached the phone (%d + %d)" %
           (statuses.count(1), statuses.count(2)))
    # Intervals between UPNEEDED keepalives, while the phone holds its answer: the daemon does
    # nothing else then (connecting involves D-Bus round trips to BlueZ, timed separately).
    gaps = []
    for (t0, s0), (t1, s1) in zip(ka, ka[1:]):
        if s0 == s1 == 2:
            gaps.append((t1 - t0) * 1000)
    conn = [(t1 - t0) * 1000 for (t0, s0), (t1, s1) in zip(ka, ka[1:]) if s0 == s1 == 1]
    if conn:
        print("keepalive while connecting (ms):", " ".join("%.0f" % g for g in conn))
    print("keepalive gaps (ms):", " ".join("%.0f" % g for g in gaps))
    mean = sum(gaps) / len(gaps)
    median = sorted(gaps)[len(gaps) // 2]
    out = [g for g in gaps if abs(g - 100) > 20]
    print("keepalive: %d packets, %d gaps, mean %.1f ms, median %.1f, min %.1f, max %.1f, "
          "%d outside 100 +- 20" % (len(ka), len(gaps), mean, median, min(gaps), max(gaps), len(out)))
    expect(abs(median - 100) <= 5 and abs(mean - 100) <= 10, "cadence 100 ms (median %.1f)" % median)
    # The daemon schedules every 100 ms; a loaded 2-core machine (or an ASan build) may not run
    # it on time once in a while. One late gap in twenty is tolerated, never two in a row.
    expect(len(out) * 20 <= len(gaps), "gaps within 100 +- 20 ms: %d of %d outside" % (len(out), len(gaps)))
    expect(not any(abs(a - 100) > 20 and abs(b - 100) > 20 for a, b in zip(gaps, gaps[1:])),
           "no two late gaps in a row")
    expect(all(g >= 80 for g in gaps), "never early (min %.1f ms)" % min(gaps))


def sc_timeout():
    """No phone ever comes: the session's timeout answers USER_ACTION_TIMEOUT; QR withdrawn."""
    raw = Raw()
    raw.init()
    t0 = time.monotonic()
    st, _ = raw.cbor(enc(2, {1: RP, 2: os.urandom(32)}), timeout=30)
    dt = time.monotonic() - t0
    expect(st == 0x2F, "timeout -> CTAP2_ERR_USER_ACTION_TIMEOUT (got %r after %.1f s)" % (st, dt))
    expect(qr_gone(), "QR withdrawn on timeout")


def sc_selcmd():
    """--select-command: the person answers a selection through a command (exit 0 = use the phone)."""
    raw = Raw()
    raw.init()
    pick, nope, log = (os.path.join(WORK, n) for n in ("pick", "nope", "sel.log"))
    threading.Timer(0.3, lambda: open(pick, "w").close()).start()
    st, body = raw.cbor(b"\x0b")
    expect(st == 0 and body == b"", "select command exits 0: the phone is picked")
    os.unlink(pick)
    threading.Timer(0.3, lambda: open(nope, "w").close()).start()
    st, _ = raw.cbor(b"\x0b")
    expect(st == 0x27, "select command exits 1: declined (got %r)" % st)
    os.unlink(nope)
    threading.Timer(0.3, raw.cancel).start()
    st, _ = raw.cbor(b"\x0b")
    expect(st == 0x2D, "cancelled by the client while asking")
    for _ in range(100):
        if "told" in open(log).read():
            break
        time.sleep(0.02)
    lines = open(log).read().split()
    expect(lines.count("asked") == 3 and "selection" in lines and lines.count("told") == 1,
           "command asked three times, told (SIGTERM) once when the client cancelled: %r" % lines)


def sc_selcancel():
    """A selection the client cancels while --select-command asks: 0x2D."""
    raw = Raw()
    raw.init()
    threading.Timer(0.3, raw.cancel).start()
    st, _ = raw.cbor(b"\x0b")
    expect(st == 0x2D, "cancelled by the client while the command asks (got %r)" % st)


SCENARIOS = {"fido2": sc_fido2, "chrome": sc_chrome, "firefox": sc_firefox, "cancel": sc_cancel,
             "busy": sc_busy, "keepalive": sc_keepalive, "timeout": sc_timeout,
             "selcmd": sc_selcmd, "selcancel": sc_selcancel}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
