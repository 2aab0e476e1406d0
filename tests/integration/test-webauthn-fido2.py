#!/usr/bin/python3
"""Checks cable's WebAuthn JSON output with python-fido2's relying-party code (Fido2Server).

The helper (tests/helpers/webauthn-roundtrip.c) runs cable_webauthn_*_begin on the options the RP
made, answers the CTAP request with a software ES256 phone, and prints cable_webauthn_finish's
JSON. Here the RP verifies it: origin, challenge, RP ID hash, flags, signatures, packed
self-attestation, and the PRF results against an HMAC computed independently.
"""
import enum
import hashlib
import hmac
import json
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives.serialization import load_der_public_key
from fido2 import cbor
from fido2.attestation import PackedAttestation
from fido2.attestation.base import AttestationType
from fido2.client import ClientData
from fido2.ctap2 import AttestationObject, AuthenticatorData
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode

HELPER = sys.argv[1]
SECRET = bytes(range(32))
SECRET_HEX = SECRET.hex()
ORIGIN = "https://login.example.com"
failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what)


def to_json(o):
    if isinstance(o, bytes):
        return websafe_encode(o)
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, dict):
        return {k: to_json(v) for k, v in o.items() if v is not None}
    if isinstance(o, (list, tuple)):
        return [to_json(v) for v in o]
    return o


TMP = tempfile.mkdtemp(prefix="webauthn-fido2.")
REQ_FILE = os.path.join(TMP, "request.bin")
atexit.register(shutil.rmtree, TMP, True)


def run(mode, options, *extra, origin=ORIGIN):
    p = subprocess.run([HELPER, mode, origin, SECRET_HEX, "--request-out", REQ_FILE, *extra],
                       input=json.dumps(options), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def check_request(cmd, what):
    """The CTAP request: command byte, then CBOR that python-fido2 re-encodes byte for byte."""
    with open(REQ_FILE, "rb") as f:
        req = f.read()
    os.unlink(REQ_FILE)
    body = cbor.decode(req[1:])
    check(req[0] == cmd and cbor.encode(body) == req[1:], what + ": CTAP request is canonical")
    return body


def prf_expected(inp):
    cred_random = hashlib.sha256(SECRET + b"prf").digest()
    salt = hashlib.sha256(b"WebAuthn PRF\0" + inp).digest()
    return websafe_encode(hmac.new(cred_random, salt, hashlib.sha256).digest())


server = Fido2Server({"id": "example.com", "name": "Example RP"})

# ---- registration ----
reg_opts, reg_state = server.register_begin(
    {"id": b"user-1", "name": "alice@example.com", "displayName": "Alice"},
    resident_key=True, user_verification="required")
opts = to_json(reg_opts["publicKey"])
opts["extensions"] = {"credProps": True, "prf": {"eval": {"first": websafe_encode(b"hello")}}}
rc, out, err = run("create", opts)
check(rc == 0, "create: translation succeeded (%s)" % err.strip())
req = check_request(0x01, "create")
check(req[7] == {"rk": True, "uv": True}, "create: options rk and uv")
check(req[2] == {"id": "example.com", "name": "Example RP"}, "create: rp entity")
check(req[3]["id"] == b"user-1", "create: user.id")
reg = json.loads(out)
raw_id = websafe_decode(reg["rawId"])
check(reg["id"] == reg["rawId"], "create: id == rawId")
check(reg["type"] == "public-key", "create: type public-key")
check(reg["authenticatorAttachment"] == "cross-platform", "create: cross-platform attachment")
check(reg["response"]["transports"] == ["hybrid"], "create: transports [hybrid]")
cdj = websafe_decode(reg["response"]["clientDataJSON"])
check(cdj.startswith(b'{"type":"webauthn.create","challenge":"'), "create: clientDataJSON key order")
check(json.loads(cdj)["crossOrigin"] is False, "create: crossOrigin false")
client_data = ClientData(cdj)
att_raw = websafe_decode(reg["response"]["attestationObject"])
check(cbor.encode(cbor.decode(att_raw)) == att_raw,
      "create: attestationObject is canonical (python-fido2 re-encodes identically)")
att = AttestationObject(att_raw)
try:
    auth_data = server.register_complete(reg_state, client_data, att)
    check(True, "create: Fido2Server.register_complete accepts the response")
except Exception as e:  # noqa: BLE001
    check(False, "create: register_complete raised %r" % e)
    sys.exit(1)
cred = auth_data.credential_data
check(cred.credential_id == raw_id, "create: rawId is the credential ID in authData")
check(websafe_decode(reg["response"]["authenticatorData"]) == bytes(att.auth_data),
      "create: authenticatorData equals authData in attestationObject")
result = PackedAttestation().verify(att.att_statement, att.auth_data, client_data.hash)
check(result.attestation_type == AttestationType.SELF, "create: packed self-attestation verifies")
spki = load_der_public_key(websafe_decode(reg["response"]["publicKey"]))
nums = spki.public_numbers()
check(nums.x.to_bytes(32, "big") == cred.public_key[-2] and
      nums.y.to_bytes(32, "big") == cred.public_key[-3], "create: publicKey SPKI is the COSE key")
check(reg["response"]["publicKeyAlgorithm"] == -7, "create: publicKeyAlgorithm -7")
ext = reg["clientExtensionResults"]
check(ext.get("credProps") == {"rk": True}, "create: credProps.rk true")
check(ext.get("prf", {}).get("enabled") is True, "create: prf.enabled")
check(ext.get("prf", {}).get("results", {}).get("first") == prf_expected(b"hello"),
      "create: prf result = HMAC(credRandom, SHA-256('WebAuthn PRF\\0' || input))")

# ---- authentication with an allow list ----
auth_opts, auth_state = server.authenticate_begin([cred], user_verification="required")
opts = to_json(auth_opts["publicKey"])
opts["extensions"] = {"prf": {"eval": {"first": websafe_encode(b"default")},
                              "evalByCredential": {reg["rawId"]: {
                                  "first": websafe_encode(b"one"),
                                  "second": websafe_encode(b"two")}}}}
rc, out, err = run("get", opts, "--user-id", websafe_encode(b"user-1"))
check(rc == 0, "get: translation succeeded (%s)" % err.strip())
req = check_request(0x02, "get")
check(req[1] == "example.com" and len(req[3]) == 1 and req[5] == {"uv": True},
      "get: rpId, allowList and uv")
asr = json.loads(out)
check(asr["id"] == reg["id"], "get: same credential ID")
cdj = websafe_decode(asr["response"]["clientDataJSON"])
check(cdj.startswith(b'{"type":"webauthn.get","challenge":"'), "get: clientDataJSON key order")
auth_data_bytes = websafe_decode(asr["response"]["authenticatorData"])
sig = websafe_decode(asr["response"]["signature"])
try:
    server.authenticate_complete(auth_state, [cred], websafe_decode(asr["rawId"]),
                                 ClientData(cdj), AuthenticatorData(auth_data_bytes), sig)
    check(True, "get: Fido2Server.authenticate_complete accepts the assertion")
except Exception as e:  # noqa: BLE001
    check(False, "get: authenticate_complete raised %r" % e)
check(websafe_decode(asr["response"]["userHandle"]) == b"user-1", "get: userHandle")
res = asr["clientExtensionResults"].get("prf", {}).get("results", {})
check(res.get("first") == prf_expected(b"one") and res.get("second") == prf_expected(b"two"),
      "get: evalByCredential chosen over eval, both results correct")

# The RP really checks: a flipped signature bit and a different challenge are refused.
bad = bytearray(sig)
bad[-1] ^= 1
try:
    server.authenticate_complete(auth_state, [cred], websafe_decode(asr["rawId"]),
                                 ClientData(cdj), AuthenticatorData(auth_data_bytes), bytes(bad))
    check(False, "get: tampered signature refused")
except ValueError:
    check(True, "get: tampered signature refused")
_, other_state = server.authenticate_begin([cred], user_verification="required")
try:
    server.authenticate_complete(other_state, [cred], websafe_decode(asr["rawId"]),
                                 ClientData(cdj), AuthenticatorData(auth_data_bytes), sig)
    check(False, "get: assertion for another challenge refused")
except ValueError:
    check(True, "get: assertion for another challenge refused")

# ---- discoverable authentication (no allow list) ----
auth_opts, auth_state = server.authenticate_begin(user_verification="preferred")
opts = to_json(auth_opts["publicKey"])
rc, out, err = run("get", opts, "--user-id", websafe_encode(b"user-1"))
check(rc == 0, "get discoverable: translation succeeded (%s)" % err.strip())
asr = json.loads(out)
try:
    server.authenticate_complete(auth_state, [cred], websafe_decode(asr["rawId"]),
                                 ClientData(websafe_decode(asr["response"]["clientDataJSON"])),
                                 AuthenticatorData(websafe_decode(asr["response"]["authenticatorData"])),
                                 websafe_decode(asr["response"]["signature"]))
    check(True, "get discoverable: authenticate_complete accepts it")
except Exception as e:  # noqa: BLE001
    check(False, "get discoverable: authenticate_complete raised %r" % e)
check("prf" not in asr["clientExtensionResults"], "get discoverable: no prf result unasked")

# ---- refusals by the translation itself ----
rc, out, err = run("get", opts, "--user-id", "dQ", origin="https://other-site.com")
check(rc == 2 and "options.rpId" in err, "origin of another site: refused naming options.rpId")
auth_opts, _ = server.authenticate_begin([cred], user_verification="required")
rc, out, err = run("get", to_json(auth_opts["publicKey"]), "--no-uv")
check(rc == 2 and "UV flag" in err, "UV required but not given: refused")
reg_opts, _ = server.register_begin({"id": b"u", "name": "n", "displayName": "d"})
opts = to_json(reg_opts["publicKey"])
opts["user"]["id"] = "not base64!"
rc, out, err = run("create", opts)
check(rc == 2 and "options.user.id: not valid base64url" in err, "bad user.id named")

print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
