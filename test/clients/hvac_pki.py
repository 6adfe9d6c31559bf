"""Drives Keep's PKI engine with Debian's python3-hvac, as a Vault PKI user would.

Usage: hvac_pki.py ADDR TOKEN OUT_DIR
Prints one "ok <step>" line per finished step; any failed check raises. The
root CA, the issued certificate and the CRL are written to OUT_DIR so the
calling test can check them with openssl.
"""
import os
import sys

import hvac
from hvac import exceptions

addr, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
client = hvac.Client(url=addr, token=token)
pki = client.secrets.pki
MOUNT = "hvac-pki"


def ok(step):
    print("ok", step, flush=True)


def write(name, text):
    with open(os.path.join(out, name), "w") as f:
        f.write(text)


client.sys.enable_secrets_engine("pki", path=MOUNT, config={"max_lease_ttl": "87600h"})
root = pki.generate_root(
    type="internal",
    common_name="hvac Root CA",
    extra_params={"ttl": "87600h", "key_type": "ec", "key_bits": 384},
    mount_point=MOUNT,
)
assert "private_key" not in root["data"]
assert root["data"]["certificate"].startswith("-----BEGIN CERTIFICATE-----")
write("root.pem", root["data"]["certificate"])
assert pki.read_ca_certificate(mount_point=MOUNT).strip() == root["data"]["certificate"].strip()
ok("generate root")

pki.set_urls(
    {"issuing_certificates": [f"{addr}/v1/{MOUNT}/ca"], "crl_distribution_points": [f"{addr}/v1/{MOUNT}/crl"]},
    mount_point=MOUNT,
)
assert pki.read_urls(mount_point=MOUNT)["data"]["issuing_certificates"] == [f"{addr}/v1/{MOUNT}/ca"]
ok("set urls")

pki.create_or_update_role(
    "web",
    extra_params={"allowed_domains": ["example.com"], "allow_subdomains": True, "max_ttl": "72h", "key_type": "ec"},
    mount_point=MOUNT,
)
role = pki.read_role("web", mount_point=MOUNT)["data"]
assert role["allowed_domains"] == ["example.com"] and role["allow_subdomains"] is True
assert pki.list_roles(mount_point=MOUNT)["data"]["keys"] == ["web"]
ok("create role")

cert = pki.generate_certificate(
    "web", "api.example.com", extra_params={"alt_names": "www.example.com", "ttl": "24h"}, mount_point=MOUNT
)["data"]
assert cert["private_key_type"] == "ec"
serial = cert["serial_number"]
write("leaf.pem", cert["certificate"])
assert serial in pki.list_certificates(mount_point=MOUNT)["data"]["keys"]
assert pki.read_certificate(serial, mount_point=MOUNT)["data"]["certificate"] == cert["certificate"]
ok("issue")

err = None
try:
    pki.generate_certificate("web", "www.evil.org", mount_point=MOUNT)
except exceptions.InvalidRequest as e:
    err = e
assert err is not None and "common name www.evil.org not allowed by this role" in str(err), err
ok("refused outside the role")

revoked = pki.revoke_certificate(serial, mount_point=MOUNT)["data"]
assert revoked["revocation_time"] > 0
assert pki.read_certificate(serial, mount_point=MOUNT)["data"]["revocation_time"] > 0
ok("revoke")

crl = pki.read_crl(mount_point=MOUNT)
assert crl.startswith("-----BEGIN X509 CRL-----"), crl[:40]
write("crl.pem", crl)
assert pki.rotate_crl(mount_point=MOUNT)["data"]["success"] is True
ok("read crl")
print("serial", serial.replace(":", "").upper(), flush=True)
