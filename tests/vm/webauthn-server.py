#!/usr/bin/python3
# The relying party for the browser scenario: serves webauthn-page.html on 127.0.0.1 (opened as
# http://localhost:PORT, a secure context), hands out challenges, checks the registration and the
# assertion with python3-fido2's Fido2Server, and writes OUT/result-MODE.json with its verdict
# next to what the page reported (the page checks the signature with WebCrypto on its own).
# Usage: webauthn-server.py OUT-DIR   (prints "listening PORT", then serves until killed)
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

from fido2.client import ClientData
from fido2.ctap2 import AttestationObject, AuthenticatorData
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode

OUT = sys.argv[1]
PAGE = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "webauthn-page.html"), "rb").read()
RP = {"id": "localhost", "name": "cable-bridge bench"}
state = {}  # mode -> {"origin", "reg_state", "auth_state", "cred", "t0"}


def log(mode, msg):
    with open(os.path.join(OUT, "server-%s.log" % mode), "a") as f:
        f.write("%.3f %s\n" % (time.time(), msg))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj=None, body=None, ctype="application/json"):
        data = body if body is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def mode(self):
        q = parse_qs(urlparse(self.path).query)
        return q.get("mode", ["default"])[0]

    def do_GET(self):
        path = urlparse(self.path).path
        mode = self.mode()
        if path == "/":
            log(mode, "page requested")
            self.reply(200, body=PAGE, ctype="text/html; charset=utf-8")
        elif path == "/begin":
            origin = "http://" + self.headers.get("Host", "")
            server = Fido2Server(RP, attestation="none", verify_origin=lambda o, origin=origin: o == origin)
            user = {"id": os.urandom(16), "name": "vm@example.com", "displayName": "VM bench"}
            opts, reg_state = server.register_begin(user, user_verification="discouraged")
            pk = opts["publicKey"]
            state[mode] = {"server": server, "reg_state": reg_state, "origin": origin}
            log(mode, "begin: origin %s" % origin)
            self.reply(200, {"challenge": websafe_encode(pk["challenge"]), "userId": websafe_encode(user["id"])})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        path = urlparse(self.path).path
        mode = self.mode()
        n = int(self.headers.get("Content-Length", "0"))
        if n > 1 << 20:
            self.reply(413, {"error": "too large"})
            return
        try:
            body = json.loads(self.rfile.read(n))
        except ValueError:
            self.reply(400, {"error": "bad json"})
            return
        st = state.get(mode)
        if path == "/log":
            log(mode, "page: %s" % body.get("msg"))
            self.reply(200, {})
        elif path == "/register" and st:
            try:
                cd = ClientData(websafe_decode(body["clientDataJSON"]))
                att = AttestationObject(websafe_decode(body["attestationObject"]))
                auth_data = st["server"].register_complete(st["reg_state"], cd, att)
                st["cred"] = auth_data.credential_data
                st["registration"] = {
                    "fmt": att.fmt,
                    "aaguid": auth_data.credential_data.aaguid.hex(),
                    "flags": auth_data.flags,
                    "counter": auth_data.counter,
                    "credential_id_len": len(auth_data.credential_data.credential_id),
                }
                opts, st["auth_state"] = st["server"].authenticate_begin([st["cred"]], user_verification="discouraged")
                log(mode, "register ok: %s" % json.dumps(st["registration"]))
                self.reply(200, {"ok": True, "challenge": websafe_encode(opts["publicKey"]["challenge"])})
            except Exception as e:  # the verdict goes back to the page and into the result
                st["register_error"] = "%s: %s" % (type(e).__name__, e)
                log(mode, "register FAILED: %s" % st["register_error"])
                self.reply(200, {"ok": False, "error": st["register_error"]})
        elif path == "/result":
            result = {"mode": mode, "page": body, "server": {}}
            if st and "cred" in st and "signature" in body:
                try:
                    cd = ClientData(websafe_decode(body["clientDataJSON"]))
                    ad = AuthenticatorData(websafe_decode(body["authenticatorData"]))
                    st["server"].authenticate_complete(
                        st["auth_state"], [st["cred"]], websafe_decode(body["rawId"]), cd, ad,
                        websafe_decode(body["signature"]))
                    result["server"] = {"registration": st["registration"], "assertion": "verified",
                                        "counter": ad.counter, "flags": ad.flags}
                except Exception as e:
                    result["server"] = {"error": "%s: %s" % (type(e).__name__, e)}
            elif st and "register_error" in st:
                result["server"] = {"error": "registration: " + st["register_error"]}
            else:
                result["server"] = {"error": "no ceremony completed"}
            result["ok"] = bool(body.get("ok")) and result["server"].get("assertion") == "verified"
            with open(os.path.join(OUT, "result-%s.json" % mode), "w") as f:
                json.dump(result, f, indent=1)
            log(mode, "result: ok=%s server=%s" % (result["ok"], json.dumps(result["server"])))
            self.reply(200, {"ok": result["ok"]})
        else:
            self.reply(404, {"error": "not found"})


httpd = HTTPServer(("127.0.0.1", 0), Handler)
print("listening %d" % httpd.server_address[1], flush=True)
httpd.serve_forever()
