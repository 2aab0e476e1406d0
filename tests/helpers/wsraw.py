#!/usr/bin/python3
"""Test helper: a raw WebSocket client and a misbehaving fake tunnel server, stdlib only.

client: speaks to cable-tunneld byte by byte, so tests can send what no well-behaved client
sends (text frames, no subprotocol, huge headers, oversized or too many messages).
server: answers the tunnel client with one chosen fault per run (no routing header, wrong
subprotocol, 410, redirects, oversized message, text frame).
"""
import argparse
import base64
import hashlib
import os
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()


def frame(opcode, payload, mask=True, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return hdr + payload
    k = os.urandom(4)
    return hdr + k + bytes(b ^ k[i % 4] for i, b in enumerate(payload))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError
        buf += d
    return buf


def read_frame(s):
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    k = recv_exact(s, 4) if b1 & 0x80 else None
    p = recv_exact(s, n)
    if k:
        p = bytes(b ^ k[i % 4] for i, b in enumerate(p))
    return b0 & 0x0F, bool(b0 & 0x80), p


def read_http(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, rest


# ---- client -----------------------------------------------------------------------------------

def client(a):
    s = socket.create_connection((a.host, a.port), timeout=a.timeout,
                                 source_address=(a.source, 0) if a.source else None)
    key = base64.b64encode(os.urandom(16))
    req = "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
          "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (a.path, a.host, a.port, key.decode())
    if a.subprotocol:
        req += "Sec-WebSocket-Protocol: %s\r\n" % a.subprotocol
    for h in a.header:
        req += h + "\r\n"
    if a.pad_header:
        req += "X-Padding: %s\r\n" % ("a" * a.pad_header)
    req += "\r\n"
    s.sendall(req.encode())
    try:
        status, hdrs, rest = read_http(s)
    except (EOFError, ConnectionResetError, socket.timeout):
        print("http none")
        return
    code = int(status.split()[1])
    print("http %d" % code)
    if "x-cable-routing-id" in hdrs:
        print("routing %s" % hdrs["x-cable-routing-id"])
    if "sec-websocket-protocol" in hdrs:
        print("subprotocol %s" % hdrs["sec-websocket-protocol"])
    sys.stdout.flush()
    if code != 101:
        return
    if hdrs.get("sec-websocket-accept") != accept_key(key):
        print("bad-accept")
        return
    for act in a.actions:
        kind, _, arg = act.partition(":")
        if kind == "bin":
            s.sendall(frame(2, bytes.fromhex(arg)))
        elif kind == "size":
            s.sendall(frame(2, bytes(int(arg))))
        elif kind == "frag":
            # a message of two fragments: binary without FIN, then continuation
            half = bytes.fromhex(arg)
            s.sendall(frame(2, half, fin=False) + frame(0, half))
        elif kind == "text":
            s.sendall(frame(1, arg.encode()))
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "recv":
            op, fin, p = read_frame(s)
            print("recv %d %s" % (op, p.hex() if op != 8 else ""))
        elif kind == "close":
            s.sendall(frame(8, struct.pack("!H", 1000)))
        sys.stdout.flush()
    # then report frames until the server closes
    try:
        while True:
            op, fin, p = read_frame(s)
            if op == 8:
                code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 0
                print("closed %d" % code)
                return
            print("recv %d %s" % (op, p.hex()))
            sys.stdout.flush()
    except (EOFError, ConnectionResetError):
        print("eof")
    except socket.timeout:
        print("timeout")


# ---- fake server ------------------------------------------------------------------------------

def serve_one(c, a, port):
    status, hdrs, _ = read_http(c)
    path = status.split()[1]
    key = hdrs.get("sec-websocket-key", "").encode()
    with open(a.log, "a") as log:
        log.write("request %s\n" % path)
        for k in ("origin", "sec-websocket-protocol", "x-cable-client-payload",
                  "x-cable-signal-connection", "cookie", "host"):
            if k in hdrs:
                log.write("header %s: %s\n" % (k, hdrs[k]))
    m = a.mode
    if m == "gone":
        c.sendall(b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    if m == "notfound":
        c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    if m == "redirect-loop":
        c.sendall(("HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:%d/loop%s\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n" % (port, path)).encode())
        return
    if m.startswith("redirect-to="):
        # one hop, to the real server, same path
        c.sendall(("HTTP/1.1 307 Temporary Redirect\r\nLocation: %s%s\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n" % (m[12:], path)).encode())
        return
    if m == "redirect-rel" and not path.startswith("/r/"):
        # relative Location, once; the second request is answered like "ok"
        c.sendall(("HTTP/1.1 301 Moved Permanently\r\nLocation: /r%s\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n" % path).encode())
        return
    if m == "hang":
        time.sleep(30)
        return
    resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
           "Sec-WebSocket-Accept: %s\r\n" % accept_key(key)
    if m == "wrong-subprotocol":
        resp += "Sec-WebSocket-Protocol: chat\r\n"
    elif m != "no-subprotocol":
        resp += "Sec-WebSocket-Protocol: fido.cable\r\n"
    if m == "bad-routing":
        resp += "X-caBLE-Routing-ID: 12345\r\n"
    elif m != "no-routing":
        resp += "X-caBLE-Routing-ID: ABCDEF\r\n"
    if "x-cable-signal-connection" in hdrs:
        resp += "X-caBLE-Signal-Connection: true\r\n"
    c.sendall((resp + "\r\n").encode())
    if m == "text":
        c.sendall(frame(1, b"hello", mask=False))
    elif m == "oversize":
        c.sendall(frame(2, bytes(a.size), mask=False))
    elif m == "fragmented":
        c.sendall(frame(2, b"\x01\x02", mask=False, fin=False) + frame(0, b"\x03", mask=False))
    elif m == "close-1008":
        c.sendall(frame(8, struct.pack("!H", 1008), mask=False))
    try:
        while True:
            op, fin, p = read_frame(c)
            if op == 8:
                with open(a.log, "a") as log:
                    code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 0
                    log.write("client-close %d\n" % code)
                c.sendall(frame(8, p[:2], mask=False))
                return
            if m == "echo":
                c.sendall(frame(2, p, mask=False))
    except (EOFError, ConnectionResetError, OSError):
        return


def server(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(16)
    port = ls.getsockname()[1]
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(a.port_file + ".tmp", a.port_file)
    ls.settimeout(a.timeout)
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            break
        c.settimeout(10)
        try:
            serve_one(c, a, port)
        except (EOFError, OSError):
            pass
        finally:
            c.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--path", required=True)
    c.add_argument("--subprotocol", default="fido.cable")
    c.add_argument("--pad-header", type=int, default=0)
    c.add_argument("--source", default=None)
    c.add_argument("--header", action="append", default=[])
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("actions", nargs="*")
    s = sub.add_parser("server")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file", required=True)
    s.add_argument("--mode", required=True)
    s.add_argument("--size", type=int, default=(1 << 20) + 1)
    s.add_argument("--log", default="/dev/null")
    s.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    if a.cmd == "client":
        if a.subprotocol == "none":
            a.subprotocol = None
        client(a)
    else:
        server(a)


if __name__ == "__main__":
    main()
