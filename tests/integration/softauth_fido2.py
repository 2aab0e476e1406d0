"""Checks the software authenticator against python-fido2 (0.9.1): an independent client and RP.

Usage: softauth_fido2.py HELPER WORKDIR. HELPER is the softauth-ctap test helper (CTAP request hex
lines in, response hex lines out). Every response goes through python-fido2's strict CBOR check
(decode, re-encode, byte equality), and registrations and assertions through Fido2Server.
"""
import hashlib
import hmac
import os
import stat
import subprocess
import sys

from fido2 import cbor
from fido2.attestation import AttestationType, NoneAttestation, PackedAttestation
from fido2.client import Fido2Client
from fido2.cose import CoseKey
from fido2.ctap import CtapDevice, CtapError
from fido2.ctap2 import AttestationObject, AuthenticatorData, Ctap2
from fido2.hid import CAPABILITY, CTAPHID
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity

HELPER, WORK = sys.argv[1], sys.argv[2]
AAGUID = bytes.fromhex("5b9be0a7f824906fce1ccfade7e85665")
ORIGIN, RP_ID = "https://example.com", "example.com"
RP = PublicKeyCredentialRpEntity(RP_ID, "Example")
CHECKS = []


def check(name):
    def deco(fn):
        CHECKS.append((name, fn))
        return fn
    return deco


class HelperDevice(CtapDevice):
    """A CtapDevice whose CBOR calls go to the softauth-ctap helper process."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([HELPER, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     universal_newlines=True)

    @property
    def capabilities(self):
        return CAPABILITY.CBOR | CAPABILITY.NMSG

    def raw(self, request):
        self.proc.stdin.write(request.hex() + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        assert line and not line.startswith("ERR"), "helper failed: %r" % line
        return bytes.fromhex(line)

    def call(self, cmd, data=b"", event=None, on_keepalive=None):
        assert cmd == CTAPHID.CBOR
        return self.raw(bytes(data))

    @classmethod
    def list_devices(cls):
        return iter(())

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=10) == 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def user(i=1):
    return {"id": b"user-%d" % i, "name": "user%d@example.com" % i, "displayName": "User %d" % i}


def cdh(tag=b"x"):
    return hashlib.sha256(b"client data " + tag).digest()


def ctap_error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except CtapError as e:
        return e.code
    raise AssertionError("expected a CTAP error")


def register(dev, rk=False, uv="discouraged", exclude=None):
    client = Fido2Client(dev, ORIGIN)
    server = Fido2Server(RP)
    options, state = server.register_begin(user(), credentials=exclude or [], resident_key=rk,
                                           user_verification=uv)
    result = client.make_credential(options["publicKey"])
    auth_data = server.register_complete(state, result.client_data, result.attestation_object)
    return client, server, auth_data, result.attestation_object


@check("getInfo fields, canonical CBOR")
def _():
    with HelperDevice("--ephemeral") as dev:
        info = Ctap2(dev).info
        assert info.versions == ["FIDO_2_0", "FIDO_2_1"], info.versions
        assert info.extensions == ["prf"], info.extensions
        assert info.aaguid == AAGUID
        assert info.options == {"rk": True, "up": True, "uv": True, "plat": False}, info.options
        assert "clientPin" not in info.options
        assert info.max_msg_size == 7609
        assert info.pin_uv_protocols == []
        assert info.max_creds_in_list == 16 and info.max_cred_id_length == 128
        assert info.transports == ["hybrid", "internal"]
        assert info.algorithms == [{"alg": -7, "type": "public-key"}]


@check("register + authenticate (non-resident) through Fido2Client/Fido2Server, flags, counter")
def _():
    with HelperDevice("--ephemeral") as dev:
        client, server, ad, att = register(dev, uv="required")
        assert att.fmt == "none" and att.att_statement == {}
        F = AuthenticatorData.FLAG
        assert ad.flags == F.USER_PRESENT | F.USER_VERIFIED | F.ATTESTED, ad.flags
        assert ad.credential_data.aaguid == AAGUID
        assert len(ad.credential_data.credential_id) == 34
        assert isinstance(CoseKey.parse(ad.credential_data.public_key), CoseKey.for_alg(-7))
        NoneAttestation().verify(att.att_statement, att.auth_data, b"\0" * 32)
        creds = [ad.credential_data]
        last = ad.counter
        for _ in range(3):
            options, state = server.authenticate_begin(creds, user_verification="required")
            sel = client.get_assertion(options["publicKey"])
            resp = sel.get_response(0)
            server.authenticate_complete(state, creds, resp.credential_id, resp.client_data,
                                         resp.authenticator_data, resp.signature)
            got = resp.authenticator_data
            assert got.flags == F.USER_PRESENT | F.USER_VERIFIED, got.flags
            assert got.counter > last, (got.counter, last)
            last = got.counter


@check("a tampered signature is rejected by the RP (the verification is real)")
def _():
    with HelperDevice("--ephemeral") as dev:
        client, server, ad, _ = register(dev)
        creds = [ad.credential_data]
        options, state = server.authenticate_begin(creds)
        resp = client.get_assertion(options["publicKey"]).get_response(0)
        sig = bytearray(resp.signature)
        sig[-1] ^= 1
        try:
            server.authenticate_complete(state, creds, resp.credential_id, resp.client_data,
                                         resp.authenticator_data, bytes(sig))
        except ValueError:
            return
        raise AssertionError("tampered signature accepted")


@check("packed self attestation verifies as SELF")
def _():
    with HelperDevice("--ephemeral", "--attestation", "packed") as dev:
        _, _, ad, att = register(dev)
        assert att.fmt == "packed" and set(att.att_statement) == {"alg", "sig"}
        result = PackedAttestation().verify(att.att_statement, att.auth_data,
                                            _client_data_hash_of(att))
        assert result.attestation_type == AttestationType.SELF


_LAST_CDH = {}


def _client_data_hash_of(att):
    return _LAST_CDH[bytes(att.auth_data)]


@check("attestationFormatsPreference (key 11) picks packed on a none-default authenticator")
def _():
    with HelperDevice("--ephemeral") as dev:
        ctap = Ctap2(dev)
        h = cdh(b"att")
        raw = ctap.send_cbor(1, {1: h, 2: {"id": RP_ID}, 3: user(), 4: [{"alg": -7, "type": "public-key"}],
                                 11: ["packed"]})
        att = AttestationObject.create(raw[1], raw[2], raw[3])
        assert att.fmt == "packed"
        assert PackedAttestation().verify(att.att_statement, att.auth_data, h).attestation_type == AttestationType.SELF


@check("discoverable credential: empty allowList, userSelected, user {id, '', ''}")
def _():
    with HelperDevice("--ephemeral") as dev:
        client, server, ad, _ = register(dev, rk=True, uv="required")
        creds = [ad.credential_data]
        options, state = server.authenticate_begin([], user_verification="required")
        sel = client.get_assertion(options["publicKey"])
        raw = sel.get_assertions()[0]
        assert raw.user == {"id": b"user-1", "name": "", "displayName": ""}, raw.user
        assert raw.user_selected is True and raw.number_of_credentials is None
        resp = sel.get_response(0)
        assert resp.user_handle == b"user-1"
        server.authenticate_complete(state, creds, resp.credential_id, resp.client_data,
                                     resp.authenticator_data, resp.signature)


@check("two accounts, phone mode: the user picks one (index 1 of the newest-first list)")
def _():
    with HelperDevice("--ephemeral", "--select", "1") as dev:
        ctap = Ctap2(dev)
        keys = {}
        for i in (1, 2):
            att = ctap.make_credential(cdh(), {"id": RP_ID}, user(i), [{"alg": -7, "type": "public-key"}],
                                       options={"rk": True})
            keys[att.auth_data.credential_data.credential_id] = (i, att.auth_data.credential_data)
        a = ctap.get_assertion(RP_ID, cdh(b"ga"))
        i, cred = keys[a.credential["id"]]
        # Accounts are offered newest first: index 1 is the first one created.
        assert i == 1 and a.user["id"] == b"user-1" and a.user_selected
        a.verify(cdh(b"ga"), CoseKey.parse(cred.public_key))


@check("two accounts, list mode: numberOfCredentials + getNextAssertion, all signatures verify")
def _():
    with HelperDevice("--ephemeral", "--list-accounts") as dev:
        ctap = Ctap2(dev)
        keys = {}
        for i in (1, 2, 3):
            att = ctap.make_credential(cdh(), {"id": RP_ID}, user(i), [{"alg": -7, "type": "public-key"}],
                                       options={"rk": True})
            keys[att.auth_data.credential_data.credential_id] = att.auth_data.credential_data
        # one for another RP that must not show up
        ctap.make_credential(cdh(), {"id": "other.example"}, user(9), [{"alg": -7, "type": "public-key"}],
                             options={"rk": True})
        got = ctap.get_assertions(RP_ID, cdh(b"ga"))
        assert len(got) == 3 and got[0].number_of_credentials == 3
        assert all(g.number_of_credentials is None for g in got[1:])
        names = sorted(g.user["name"] for g in got)
        assert names == ["user1@example.com", "user2@example.com", "user3@example.com"], names
        for g in got:
            g.verify(cdh(b"ga"), CoseKey.parse(keys[g.credential["id"]].public_key))
            assert g.auth_data.is_user_verified()
        assert ctap_error(ctap.get_next_assertion) == 0x30


@check("prf: eval at create and get give the same outputs; second salt; evalByCredential wins")
def _():
    with HelperDevice("--ephemeral") as dev:
        ctap = Ctap2(dev)
        s1, s2, s3 = (hashlib.sha256(b"WebAuthn PRF\0" + x).digest() for x in (b"a", b"b", b"c"))
        mc = ctap.send_cbor(1, {1: cdh(), 2: {"id": RP_ID}, 3: user(), 4: [{"alg": -7, "type": "public-key"}],
                                6: {"prf": {"eval": {"first": s1, "second": s2}}}, 7: {"rk": True}},
                            parse=cbor.decode)
        assert set(mc) == {1, 2, 3, 6}
        prf = mc[6]["prf"]
        assert prf["enabled"] is True and set(prf["results"]) == {"first", "second"}
        ad = AuthenticatorData(mc[2])
        assert not ad.has_extension_data()  # prf outputs are unsigned
        cid = ad.credential_data.credential_id
        allow = [{"id": cid, "type": "public-key"}]
        ga = ctap.send_cbor(2, {1: RP_ID, 2: cdh(b"g"), 3: allow, 4: {"prf": {"eval": {"first": s1}}}},
                            parse=cbor.decode)
        assert ga[8] == {"prf": {"results": {"first": prf["results"]["first"]}}}
        assert prf["results"]["first"] != prf["results"]["second"]
        ga = ctap.send_cbor(2, {1: RP_ID, 2: cdh(b"g"), 3: allow,
                                4: {"prf": {"eval": {"first": s1}, "evalByCredential": {cid: {"first": s2}}}}},
                            parse=cbor.decode)
        assert ga[8]["prf"]["results"]["first"] == prf["results"]["second"]
        ga = ctap.send_cbor(2, {1: RP_ID, 2: cdh(b"g"), 4: {"prf": {"eval": {"first": s3}}}}, parse=cbor.decode)
        out3 = ga[8]["prf"]["results"]["first"]
        assert len(out3) == 32 and out3 not in (prf["results"]["first"], prf["results"]["second"])
        ga = ctap.send_cbor(2, {1: RP_ID, 2: cdh(b"g"), 3: allow}, parse=cbor.decode)
        assert 8 not in ga
        # prf: {} only reports enabled
        mc = ctap.send_cbor(1, {1: cdh(), 2: {"id": RP_ID}, 3: user(2), 4: [{"alg": -7, "type": "public-key"}],
                                6: {"prf": {}, "credProps": True}}, parse=cbor.decode)
        assert mc[6] == {"prf": {"enabled": True}, "credProps": {"rk": False}}, mc[6]


@check("excludeList hit: 0x19; a forged ID in excludeList is no hit")
def _():
    with HelperDevice("--ephemeral") as dev:
        ctap = Ctap2(dev)
        att = ctap.make_credential(cdh(), {"id": RP_ID}, user(), [{"alg": -7, "type": "public-key"}])
        cid = att.auth_data.credential_data.credential_id
        ex = [{"id": cid, "type": "public-key"}]
        assert ctap_error(ctap.make_credential, cdh(), {"id": RP_ID}, user(),
                          [{"alg": -7, "type": "public-key"}], exclude_list=ex) == 0x19
        forged = bytearray(cid)
        forged[-1] ^= 0x80
        ctap.make_credential(cdh(), {"id": RP_ID}, user(), [{"alg": -7, "type": "public-key"}],
                             exclude_list=[{"id": bytes(forged), "type": "public-key"}])
        # bound to the RP: the same ID does not exclude for another RP
        ctap.make_credential(cdh(), {"id": "other.example"}, user(), [{"alg": -7, "type": "public-key"}],
                             exclude_list=ex)


@check("forged, altered and foreign-RP credential IDs get 0x2E")
def _():
    with HelperDevice("--ephemeral") as dev:
        ctap = Ctap2(dev)
        att = ctap.make_credential(cdh(), {"id": RP_ID}, user(), [{"alg": -7, "type": "public-key"}])
        cid = att.auth_data.credential_data.credential_id
        for i in range(len(cid)):
            bad = bytearray(cid)
            bad[i] ^= 0x01
            assert ctap_error(ctap.get_assertion, RP_ID, cdh(), [{"id": bytes(bad), "type": "public-key"}]) == 0x2E
        assert ctap_error(ctap.get_assertion, "other.example", cdh(), [{"id": cid, "type": "public-key"}]) == 0x2E
    with HelperDevice("--ephemeral") as other:
        # another authenticator (another master secret) does not accept it either
        assert ctap_error(Ctap2(other).get_assertion, RP_ID, cdh(), [{"id": cid, "type": "public-key"}]) == 0x2E


@check("error codes: non-canonical 0x12, missing 0x14, types 0x11, alg 0x26, options 0x2B/0x2C, denied 0x27")
def _():
    good = {1: cdh(), 2: {"id": RP_ID}, 3: user(), 4: [{"alg": -7, "type": "public-key"}]}
    with HelperDevice("--ephemeral") as dev:
        def status(cmd, body_bytes):
            return dev.raw(bytes([cmd]) + body_bytes)[0]
        enc = cbor.encode(good)
        assert status(1, enc) == 0
        # keys out of order: {2: .., 1: ..}
        assert status(2, bytes.fromhex("a2") + cbor.encode(2) + cbor.encode(cdh()) + cbor.encode(1) + cbor.encode(RP_ID)) == 0x12
        # non-shortest integer (key 1 as 0x18 0x01)
        assert status(2, bytes.fromhex("a2 18 01".replace(" ", "")) + cbor.encode(RP_ID) + cbor.encode(2) + cbor.encode(cdh())) == 0x12
        assert status(1, enc[:-1]) == 0x12
        for k in (1, 2, 3, 4):
            d = dict(good)
            del d[k]
            assert status(1, cbor.encode(d)) == 0x14, k
        assert status(1, cbor.encode({**good, 1: "x"})) == 0x11
        assert status(1, cbor.encode({**good, 3: {"id": b"\0" * 65}})) == 0x02
        assert status(1, cbor.encode({**good, 4: [{"alg": -257, "type": "public-key"}]})) == 0x26
        assert status(1, cbor.encode({**good, 4: [{"alg": -7, "type": "other"}]})) == 0x26
        assert status(1, cbor.encode({**good, 4: [{"alg": "x", "type": "public-key"}]})) == 0x11
        assert status(1, cbor.encode({**good, 4: [{"type": "public-key"}]})) == 0x12
        assert status(1, cbor.encode({**good, 7: {"up": False}})) == 0x2C
        assert status(1, cbor.encode({**good, 7: {"rk": 1}})) == 0x11
        assert status(1, cbor.encode({**good, 8: b"\0" * 32})) == 0x14
        assert status(1, cbor.encode({**good, 8: b"\0" * 32, 9: 2})) == 0x02
        assert status(2, cbor.encode({1: RP_ID, 2: cdh(), 5: {"rk": True}})) == 0x2B
        assert status(2, cbor.encode({1: RP_ID, 2: cdh()})) == 0x2E
        assert status(2, cbor.encode({2: cdh()})) == 0x14
        assert status(2, cbor.encode([1])) == 0x11
        assert status(3, b"") == 0x01
        assert status(6, cbor.encode({1: 2, 2: 2})) == 0x01
        assert status(8, b"") == 0x30
    with HelperDevice("--ephemeral", "--deny") as dev:
        assert dev.raw(b"\x01" + cbor.encode(good))[0] == 0x27
        assert dev.raw(b"\x0b")[0] == 0x27


@check("up=false getAssertion: no UP/UV flags, signed, no prf output")
def _():
    with HelperDevice("--ephemeral") as dev:
        ctap = Ctap2(dev)
        att = ctap.make_credential(cdh(), {"id": RP_ID}, user(), [{"alg": -7, "type": "public-key"}])
        cd = att.auth_data.credential_data
        a = ctap.get_assertion(RP_ID, cdh(b"s"), [{"id": cd.credential_id, "type": "public-key"}],
                               options={"up": False})
        assert a.auth_data.flags == 0
        a.verify(cdh(b"s"), CoseKey.parse(cd.public_key))


@check("store file: created 0600, credentials survive a restart, a corrupt file is refused")
def _():
    path = os.path.join(WORK, "creds.cbor")
    with HelperDevice("--store", path) as dev:
        client, server, ad, _ = register(dev, rk=True, uv="required")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not os.path.exists(path + ".tmp")
    creds = [ad.credential_data]
    with HelperDevice("--store", path) as dev:
        client = Fido2Client(dev, ORIGIN)
        options, state = server.authenticate_begin([], user_verification="required")
        resp = client.get_assertion(options["publicKey"]).get_response(0)
        got = server.authenticate_complete(state, creds, resp.credential_id, resp.client_data,
                                           resp.authenticator_data, resp.signature)
        assert got.credential_id == ad.credential_data.credential_id
        assert resp.authenticator_data.counter > ad.counter
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:-3])
    p = subprocess.run([HELPER, "--store", path], input="04\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=10)
    assert p.returncode != 0 and "corrupt" in p.stderr, (p.returncode, p.stderr)
    assert open(path, "rb").read() == data[:-3]  # never silently replaced


def main():
    # Record the client data hash of each makeCredential so packed statements can be checked.
    orig = Ctap2.make_credential

    def spy(self, client_data_hash, *a, **k):
        att = orig(self, client_data_hash, *a, **k)
        _LAST_CDH[bytes(att.auth_data)] = client_data_hash
        return att
    Ctap2.make_credential = spy
    failed = 0
    for name, fn in CHECKS:
        try:
            fn()
            print("ok   %s" % name)
        except Exception as e:  # report every check, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
    print("%d checks, %d failed" % (len(CHECKS), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
