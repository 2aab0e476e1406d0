"""Checks cable-phone's answers with python-fido2 (0.9.1), independently of our own CTAP code.

Usage: phone_fido2.py RP_ID CDH_HEX MC_RESPONSE_HEX GA_RESPONSE_HEX. The responses are what the
desktop received through the tunnel (status byte || CBOR). Checks: CTAP2 canonical CBOR (decode,
re-encode, byte equality), the attestation statement, the RP ID hash, the UP/UV/AT flags, the
AAGUID, and the assertion's signature with the public key from the registration.
"""
import hashlib
import sys

from fido2 import cbor
from fido2.attestation import Attestation
from fido2.ctap2 import AssertionResponse, AttestationObject

AAGUID = bytes.fromhex("5b9be0a7f824906fce1ccfade7e85665")
rp_id, cdh = sys.argv[1], bytes.fromhex(sys.argv[2])
mc, ga = bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4])

assert mc[0] == 0 and ga[0] == 0, "status bytes %02x %02x" % (mc[0], ga[0])
for body in (mc[1:], ga[1:]):
    assert cbor.encode(cbor.decode(body)) == body, "not canonical CBOR"

att = AttestationObject(mc[1:])
Attestation.for_type(att.fmt)().verify(att.att_statement, att.auth_data, cdh)
ad = att.auth_data
assert ad.rp_id_hash == hashlib.sha256(rp_id.encode()).digest(), "rpIdHash"
assert ad.flags & 0x45 == 0x45, "flags %02x" % ad.flags
cred = ad.credential_data
assert cred.aaguid == AAGUID, "aaguid"

a = AssertionResponse(ga[1:])
assert a.credential["id"] == cred.credential_id, "credential id"
assert a.auth_data.rp_id_hash == ad.rp_id_hash
assert a.auth_data.counter > ad.counter, "counter did not grow"
a.verify(cdh, cred.public_key)
print("python-fido2: registration (%s) and assertion verified, counter %d -> %d"
      % (att.fmt, ad.counter, a.auth_data.counter))
