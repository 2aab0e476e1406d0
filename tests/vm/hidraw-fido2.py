#!/usr/bin/python3
# python3-fido2, unchanged, on the real hidraw node: finds the key with CtapHidDevice.list_devices()
# (its Linux backend reads the report descriptor through HIDIOCGRDESC), then Fido2Client registers
# and signs in; Fido2Server verifies both. The phone robot answers each QR code the key shows.
# Usage: hidraw-fido2.py RP-ID   Exit 0 when both ceremonies verify.
import sys

from fido2.client import Fido2Client
from fido2.hid import CtapHidDevice
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity

rp = sys.argv[1]
devs = [d for d in CtapHidDevice.list_devices()
        if d.descriptor.vid == 0x1209 and d.descriptor.pid == 0x0001]
if len(devs) != 1:
    print("FAIL: python3-fido2 found %d cable-bridge keys: %r" % (len(devs), list(CtapHidDevice.list_devices())))
    sys.exit(1)
dev = devs[0]
print("ok: python3-fido2 lists %s (CTAPHID version %d, capabilities 0x%02x)" % (
    dev.descriptor.path, dev.version, dev.capabilities))
client = Fido2Client(dev, "https://" + rp)
info = client.info
print("ok: getInfo versions %s, aaguid %s" % (info.versions, info.aaguid.hex()))
server = Fido2Server(PublicKeyCredentialRpEntity(rp, "VM bench"))
user = {"id": b"vm-user-1", "name": "vm", "displayName": "VM bench"}
opts, state = server.register_begin(user, user_verification="discouraged")
res = client.make_credential(opts["publicKey"])
auth_data = server.register_complete(state, res.client_data, res.attestation_object)
cred = auth_data.credential_data
print("ok: Fido2Server verified the registration (fmt %s, credential %s...)" % (
    res.attestation_object.fmt, cred.credential_id.hex()[:16]))
opts, state = server.authenticate_begin([cred], user_verification="discouraged")
sel = client.get_assertion(opts["publicKey"])
r = sel.get_response(0)
server.authenticate_complete(state, [cred], r.credential_id, r.client_data, r.authenticator_data, r.signature)
print("ok: Fido2Server verified the assertion (counter %d)" % r.authenticator_data.counter)
