#!/usr/bin/python3
"""A relying party for the demo and the tests: python-fido2's server module (Fido2Server).

  fido2-rp.py begin-create DIR RP_ID USER        -> PublicKeyCredentialCreationOptionsJSON on stdout
  fido2-rp.py finish-create DIR ORIGIN < RegistrationResponseJSON
  fido2-rp.py begin-get DIR                       -> PublicKeyCredentialRequestOptionsJSON on stdout
  fido2-rp.py finish-get DIR ORIGIN < AuthenticationResponseJSON

The ceremony state and the registered credential live in DIR. finish-* verify what a real RP
verifies (attestation object, signature with the registered key, RP ID hash, UP/UV flags, the
challenge, type and origin in clientDataJSON, credential ID), print what they checked and
"verified", and exit 1 on any failure.
"""
import enum
import json
import os
import sys

from fido2.client import ClientData
from fido2.ctap2 import AttestationObject, AttestedCredentialData, AuthenticatorData
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode


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


def load(d, name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)


def save(d, name, obj):
    with open(os.path.join(d, name), "w") as f:
        json.dump(obj, f)


def server(d, origin=None):
    rp = load(d, "rp.json")
    # The origin must be exactly the one the ceremony ran for.
    return Fido2Server(rp, verify_origin=(lambda o: o == origin) if origin else None)


def die(msg):
    print("fido2-rp: " + msg, file=sys.stderr)
    sys.exit(1)


def read_response():
    try:
        return json.loads(sys.stdin.read())
    except ValueError as e:
        die("the response is not JSON: %s" % e)


def main():
    if len(sys.argv) < 3:
        die("usage: fido2-rp.py begin-create|finish-create|begin-get|finish-get DIR ...")
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "begin-create":
        rp_id, user = sys.argv[3], sys.argv[4]
        save(d, "rp.json", {"id": rp_id, "name": "Demo RP"})
        opts, state = server(d).register_begin(
            {"id": user.encode(), "name": user, "displayName": user},
            resident_key=True, user_verification="required")
        save(d, "state.json", state)
        print(json.dumps(to_json(opts["publicKey"])))
    elif cmd == "finish-create":
        origin = sys.argv[3]
        reg = read_response()
        cdj = websafe_decode(reg["response"]["clientDataJSON"])
        client_data = ClientData(cdj)
        att = AttestationObject(websafe_decode(reg["response"]["attestationObject"]))
        try:
            auth_data = server(d, origin).register_complete(load(d, "state.json"), client_data, att)
        except Exception as e:  # noqa: BLE001
            die("registration refused: %r" % (e,))
        cred = auth_data.credential_data
        if cred.credential_id != websafe_decode(reg["rawId"]) or reg["id"] != reg["rawId"]:
            die("rawId is not the credential ID in authData")
        if websafe_decode(reg["response"]["authenticatorData"]) != bytes(att.auth_data):
            die("authenticatorData differs from the attestation object's")
        if not (auth_data.flags & AuthenticatorData.FLAG.USER_PRESENT and auth_data.flags & AuthenticatorData.FLAG.USER_VERIFIED):
            die("UP/UV flags missing")
        save(d, "credential.json", {"data": bytes(cred).hex()})
        os.unlink(os.path.join(d, "state.json"))
        print("registration verified by python-fido2 Fido2Server: attestation %s, RP ID hash, "
              "flags UP|UV|AT, challenge, origin %s; credential %s... (ES256)"
              % (att.fmt, client_data.get("origin"), reg["id"][:16]))
    elif cmd == "begin-get":
        cred = AttestedCredentialData(bytes.fromhex(load(d, "credential.json")["data"]))
        opts, state = server(d).authenticate_begin([cred], user_verification="required")
        save(d, "state.json", state)
        print(json.dumps(to_json(opts["publicKey"])))
    elif cmd == "finish-get":
        origin = sys.argv[3]
        asr = read_response()
        cred = AttestedCredentialData(bytes.fromhex(load(d, "credential.json")["data"]))
        cdj = websafe_decode(asr["response"]["clientDataJSON"])
        ad = AuthenticatorData(websafe_decode(asr["response"]["authenticatorData"]))
        try:
            server(d, origin).authenticate_complete(
                load(d, "state.json"), [cred], websafe_decode(asr["rawId"]), ClientData(cdj), ad,
                websafe_decode(asr["response"]["signature"]))
        except Exception as e:  # noqa: BLE001
            die("assertion refused: %r" % (e,))
        if not (ad.flags & AuthenticatorData.FLAG.USER_PRESENT and ad.flags & AuthenticatorData.FLAG.USER_VERIFIED):
            die("UP/UV flags missing")
        os.unlink(os.path.join(d, "state.json"))
        print("assertion verified by python-fido2 Fido2Server: ES256 signature with the registered "
              "key, RP ID hash, flags UP|UV, challenge, origin %s, sign count %d"
              % (ClientData(cdj).get("origin"), ad.counter))
    else:
        die("unknown command " + cmd)


if __name__ == "__main__":
    main()
