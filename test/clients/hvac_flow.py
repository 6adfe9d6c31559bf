"""Drives a fresh Keep server with Debian's python3-hvac, as a Vault user would.

Usage: hvac_flow.py ADDR STATE_FILE
Prints one "ok <step>" line per finished step; any failed check raises, and
the exit status is non-zero. The unseal keys and root token are written to
STATE_FILE so the calling test can restart the server and unseal again.
"""
import json
import sys
import time

import hvac
from hvac import exceptions

addr, state_file = sys.argv[1], sys.argv[2]
client = hvac.Client(url=addr)


def ok(step):
    print("ok", step, flush=True)


def expect_raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as err:
        return err
    raise AssertionError(f"expected {exc_type.__name__} from {fn.__name__}")


assert client.sys.is_initialized() is False
init = client.sys.initialize(secret_shares=5, secret_threshold=3)
keys, root = init["keys"], init["root_token"]
assert len(keys) == 5 and len(init["keys_base64"]) == 5
assert client.sys.is_sealed()
ok("init 5/3")

status = client.sys.submit_unseal_key(keys[0])
assert status["sealed"] and status["progress"] == 1 and status["t"] == 3 and status["n"] == 5
client.sys.submit_unseal_key(keys[2])
status = client.sys.submit_unseal_key(keys[4])
assert status["sealed"] is False, status
ok("unseal with shares 1, 3, 5")

client.token = root
assert client.is_authenticated()
client.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
kv = client.secrets.kv.v2
kv.configure(max_versions=5, mount_point="secret")
ok("kv v2 mounted")

kv.create_or_update_secret("app/db", {"user": "svc", "password": "s3cr3t-one"}, mount_point="secret")
kv.create_or_update_secret("app/db", {"user": "svc", "password": "s3cr3t-two"}, cas=1, mount_point="secret")
err = expect_raises(
    exceptions.InvalidRequest,
    kv.create_or_update_secret,
    "app/db",
    {"password": "lost-update"},
    cas=1,
    mount_point="secret",
)
assert "check-and-set" in str(err), str(err)
read = kv.read_secret_version("app/db", mount_point="secret")
assert read["data"]["data"]["password"] == "s3cr3t-two"
assert read["data"]["metadata"]["version"] == 2
first = kv.read_secret_version("app/db", version=1, mount_point="secret")
assert first["data"]["data"]["password"] == "s3cr3t-one"
ok("kv v2 write, cas, versions")

kv.delete_latest_version_of_secret("app/db", mount_point="secret")
expect_raises(exceptions.InvalidPath, kv.read_secret_version, "app/db", mount_point="secret")
kv.undelete_secret_versions("app/db", versions=[2], mount_point="secret")
assert kv.read_secret_version("app/db", mount_point="secret")["data"]["data"]["password"] == "s3cr3t-two"
kv.destroy_secret_versions("app/db", versions=[1], mount_point="secret")
meta = kv.read_secret_metadata("app/db", mount_point="secret")["data"]
assert meta["versions"]["1"]["destroyed"] is True
assert meta["current_version"] == 2
ok("kv v2 delete, undelete, destroy")

kv.create_or_update_secret("app/api", {"key": "abc"}, mount_point="secret")
kv.create_or_update_secret("other/x", {"k": "v"}, mount_point="secret")
listed = kv.list_secrets("app", mount_point="secret")["data"]["keys"]
assert sorted(listed) == ["api", "db"], listed
top = kv.list_secrets("", mount_point="secret")["data"]["keys"]
assert sorted(top) == ["app/", "other/"], top
expect_raises(exceptions.InvalidPath, kv.list_secrets, "nothing-here", mount_point="secret")
ok("kv v2 list with the LIST verb")

client.sys.create_or_update_policy(
    "app-reader",
    """
path "secret/data/app/*" { capabilities = ["read", "list"] }
path "secret/metadata/app/*" { capabilities = ["list", "read"] }
path "secret/data/app/db" { capabilities = ["deny"] }
""",
)
reader = client.auth.token.create(policies=["app-reader"], ttl="1h")["auth"]["client_token"]
limited = hvac.Client(url=addr, token=reader)
assert limited.secrets.kv.v2.read_secret_version("app/api", mount_point="secret")["data"]["data"] == {"key": "abc"}
expect_raises(exceptions.Forbidden, limited.secrets.kv.v2.read_secret_version, "app/db", mount_point="secret")
expect_raises(exceptions.Forbidden, limited.secrets.kv.v2.read_secret_version, "other/x", mount_point="secret")
expect_raises(
    exceptions.Forbidden,
    limited.secrets.kv.v2.create_or_update_secret,
    "app/api",
    {"key": "overwritten"},
    mount_point="secret",
)
assert kv.read_secret_version("app/api", mount_point="secret")["data"]["data"] == {"key": "abc"}
ok("policy allows one subtree and denies another")

short = client.auth.token.create(policies=["app-reader"], ttl="2s")["auth"]["client_token"]
brief = hvac.Client(url=addr, token=short)
assert brief.is_authenticated()
time.sleep(3)
assert brief.is_authenticated() is False
expect_raises(exceptions.Forbidden, brief.secrets.kv.v2.read_secret_version, "app/api", mount_point="secret")
ok("token with a ttl expires")

bad = hvac.Client(url=addr, token="hvs.not-a-real-token")
expect_raises(exceptions.Forbidden, bad.secrets.kv.v2.read_secret_version, "app/api", mount_point="secret")
ok("unknown token refused")

with open(state_file, "w") as fh:
    json.dump({"keys": keys, "root_token": root}, fh)

client.sys.seal()
deadline = time.time() + 5
while not client.sys.is_sealed() and time.time() < deadline:
    time.sleep(0.05)
assert client.sys.is_sealed()
expect_raises(exceptions.VaultDown, kv.read_secret_version, "app/api", mount_point="secret")
ok("sealed, and reads answer 503")
