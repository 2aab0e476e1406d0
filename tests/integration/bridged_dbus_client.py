#!/usr/bin/python3
"""Watches cable-bridged's org.cablebridge.Bridge1 interface on a (private) session bus while a
python-fido2 client drives the bridge's HID socket.

Usage: bridged_dbus_client.py SCENARIO. Environment: DBUS_SESSION_BUS_ADDRESS, BRIDGE_SOCK,
PHONE_CMD (cable-phone with its common arguments), WORK, EXPECT_VERSION.

Scenarios:
  whole   makeCredential through the phone; the phone is started with the URL from the
          RequestStarted signal; every signal is checked, in order; Requests before and after.
  cancel  getAssertion; Cancel(id) over D-Bus when RequestStarted arrives; the client must get
          CTAP2_ERR_OPERATION_DENIED (0x27); the signals end in "cancelled".
  unknown Cancel of a request that does not exist: org.cablebridge.Error.NoSuchRequest.
  btfail  getAssertion while BlueZ refuses StartDiscovery (the caller injects the fault): the
          request ends "failed" and its reason carries BlueZ's own error text.
Prints "ok: ..." lines; exits non-zero on the first failure.
"""
import os
import shlex
import socket
import subprocess
import sys
import threading
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

NAME, PATH, IFACE = "org.cablebridge.Bridge1", "/org/cablebridge/Bridge", "org.cablebridge.Bridge1"
SOCK = os.environ["BRIDGE_SOCK"]
WORK = os.environ.get("WORK", "/tmp")
PHONE_CMD = shlex.split(os.environ.get("PHONE_CMD", ""))
RP = "example.com"


def ok(msg):
    print("ok:", msg, flush=True)


def fail(msg):
    print("FAIL:", msg, file=sys.stderr, flush=True)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)
    ok(msg)


def hid_device():
    from fido2.hid import CtapHidDevice
    from fido2.hid.base import CtapHidConnection, HidDescriptor

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

    return CtapHidDevice(HidDescriptor(SOCK, 0x1209, 0x0001, 64, 64), Conn())


class Watcher:
    """Records the bridge's signals (and Requests changes) in arrival order."""

    def __init__(self):
        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        self.bus = dbus.SessionBus()
        self.events = []
        self.props = []
        self.loop = GLib.MainLoop()
        self.on_started = None
        self.bus.add_signal_receiver(self.sig, dbus_interface=IFACE, path=PATH, bus_name=NAME,
                                     member_keyword="member")
        self.bus.add_signal_receiver(self.prop, signal_name="PropertiesChanged",
                                     dbus_interface="org.freedesktop.DBus.Properties", path=PATH,
                                     bus_name=NAME)
        self.obj = self.bus.get_object(NAME, PATH, introspect=False)

    def sig(self, *args, member=None):
        ev = (str(member),) + tuple(str(a) if isinstance(a, dbus.String) else int(a) for a in args)
        self.events.append(ev)
        print("signal:", ev[0], ev[1], *[a if not str(a).startswith("FIDO:/") else "FIDO:/..." for a in ev[2:]],
              flush=True)
        if member == "RequestStarted" and self.on_started:
            self.on_started(ev)
        if member == "RequestEnded":
            GLib.timeout_add(300, self.loop.quit)  # room for a late PropertiesChanged

    def prop(self, iface, changed, invalidated):
        if "Requests" in changed:
            self.props.append([tuple(x) for x in changed["Requests"]])

    def get(self, prop):
        return self.obj.Get(IFACE, prop, dbus_interface="org.freedesktop.DBus.Properties")

    def run(self, secs):
        GLib.timeout_add_seconds(secs, self.loop.quit)
        self.loop.run()


def get_assertion_thread(ctap, result):
    """getAssertion on a thread: result gets status (0 or the CTAP error) and t, or error."""
    from fido2.ctap import CtapError

    def worker():
        try:
            ctap.get_assertion(RP, os.urandom(32), options={"uv": True})
            result["status"] = 0
        except CtapError as e:
            result["status"] = e.code
            result["t"] = time.monotonic()
        except Exception as e:
            result["error"] = repr(e)
    t = threading.Thread(target=worker, daemon=True)
    t.start()
    return t


def check_common(w):
    v = w.get("Version")
    expect(str(v) == os.environ.get("EXPECT_VERSION", str(v)), "Version property: %s" % v)
    expect(len(w.get("Requests")) == 0, "Requests empty while idle")


def sc_whole():
    from fido2.client import Fido2Client
    from fido2.server import Fido2Server
    from fido2.webauthn import PublicKeyCredentialRpEntity

    w = Watcher()
    check_common(w)
    seen = {}

    def started(ev):
        _, rid, rp, typ, url = ev
        reqs = w.get("Requests")
        seen["requests"] = [tuple(x) for x in reqs]
        seen["phone"] = subprocess.Popen(PHONE_CMD + ["--qr", url], stdout=subprocess.DEVNULL,
                                         stderr=open(os.path.join(WORK, "dbus-phone.err"), "w"))
    w.on_started = started

    dev = hid_device()
    client = Fido2Client(dev, "https://example.com")
    server = Fido2Server(PublicKeyCredentialRpEntity("example.com", "Example"))
    user = {"id": b"user-7", "name": "carol", "displayName": "Carol"}
    opts, state = server.register_begin(user, user_verification="required")
    result = {}

    def worker():
        try:
            res = client.make_credential(opts["publicKey"])
            result["auth"] = server.register_complete(state, res.client_data, res.attestation_object)
        except Exception as e:  # reported below
            result["error"] = repr(e)
    t = threading.Thread(target=worker, daemon=True)
    t.start()
    w.run(60)
    t.join(30)
    if "phone" in seen:
        seen["phone"].wait(30)
    expect("auth" in result, "python-fido2 registration verified by its server (%s)" % result.get("error", "ok"))
    names = [e[0] for e in w.events]
    expect(names and names[0] == "RequestStarted", "first signal is RequestStarted")
    _, rid, rp, typ, url = w.events[0]
    expect(rid >= 1 and rp == RP and typ == "makeCredential", "RequestStarted(%d, %s, %s)" % (rid, rp, typ))
    expect(url.startswith("FIDO:/") and url[6:].isdigit(), "RequestStarted carries the FIDO:/ URL")
    expect(all(e[1] == rid for e in w.events), "every signal names request %d" % rid)
    states = [e[2] for e in w.events if e[0] == "RequestStateChanged"]
    expect(states == ["waiting-for-phone", "phone-found", "connected", "waiting-for-user", "done"],
           "states in order: %s" % " -> ".join(states))
    expect(names == ["RequestStarted"] + ["RequestStateChanged"] * 5 + ["RequestEnded"],
           "signal order: %s" % " ".join(names))
    expect(w.events[-1][2] == "done" and "answered" in w.events[-1][3], "RequestEnded(done, %r)" % w.events[-1][3])
    expect(seen.get("requests") and seen["requests"][0][0] == rid and seen["requests"][0][3] == url and
           seen["requests"][0][1] == RP, "Requests lists the request with its URL while it runs")
    expect(w.props and w.props[-1] == [], "PropertiesChanged: Requests empty at the end (%d changes)" % len(w.props))
    expect(len(w.get("Requests")) == 0, "Requests empty after the request")
    with open(os.path.join(WORK, "dbus-url"), "w") as f:
        f.write(url)


def sc_cancel():
    from fido2.ctap2 import Ctap2

    w = Watcher()
    check_common(w)
    dev = hid_device()
    ctap = Ctap2(dev)
    result = {}
    t_cancel = {}

    def started(ev):
        t_cancel["t"] = time.monotonic()
        w.obj.Cancel(dbus.UInt64(ev[1]), dbus_interface=IFACE,
                     reply_handler=lambda: t_cancel.setdefault("reply", True),
                     error_handler=lambda e: t_cancel.setdefault("error", str(e)))
    w.on_started = started

    t = get_assertion_thread(ctap, result)
    w.run(30)
    t.join(10)
    expect(t_cancel.get("reply") and "error" not in t_cancel, "Cancel(id) returned (%s)" % t_cancel.get("error", "ok"))
    expect(result.get("status") == 0x27, "client got CTAP2_ERR_OPERATION_DENIED (0x27): %r" % result)
    dt = result["t"] - t_cancel["t"]
    print("cancel: 0x27 %.1f ms after Cancel" % (dt * 1000))
    expect(dt < 2.0, "at once (%.0f ms)" % (dt * 1000))
    names = [e[0] for e in w.events]
    states = [e[2] for e in w.events if e[0] == "RequestStateChanged"]
    expect(names == ["RequestStarted", "RequestStateChanged", "RequestStateChanged", "RequestEnded"],
           "signal order: %s" % " ".join(names))
    expect(w.events[0][3] == "getAssertion", "type getAssertion")
    expect(states == ["waiting-for-phone", "cancelled"], "states: %s" % " -> ".join(states))
    expect(w.events[-1][2:] == ("cancelled", "cancelled over D-Bus"), "RequestEnded%r" % (w.events[-1][2:],))
    expect(len(w.get("Requests")) == 0, "Requests empty after the cancel")


def sc_unknown():
    w = Watcher()
    try:
        w.obj.Cancel(dbus.UInt64(999999), dbus_interface=IFACE)
        fail("Cancel of an unknown request succeeded")
    except dbus.exceptions.DBusException as e:
        expect(e.get_dbus_name() == "org.cablebridge.Error.NoSuchRequest", "unknown id: %s" % e.get_dbus_name())


def sc_btfail():
    from fido2.ctap2 import Ctap2

    w = Watcher()
    dev = hid_device()
    ctap = Ctap2(dev)
    result = {}

    t = get_assertion_thread(ctap, result)
    w.run(30)
    t.join(10)
    expect(result.get("status", 0) != 0, "the client got an error status: %r" % result)
    want = ("failed", "BlueZ refused to start discovery (while scan): org.bluez.Error.Failed: "
            "no radio today")
    expect(w.events and w.events[-1][0] == "RequestEnded" and w.events[-1][2:] == want,
           "RequestEnded %s" % (repr(w.events[-1][2:] if w.events else ()),))


if __name__ == "__main__":
    {"whole": sc_whole, "cancel": sc_cancel, "unknown": sc_unknown, "btfail": sc_btfail}[sys.argv[1]]()
