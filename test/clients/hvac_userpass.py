"""Drives Keep's userpass auth method with Debian's python3-hvac.

Usage: hvac_userpass.py ADDR ROOT_TOKEN
The server is unsealed, KV v2 is at secret/ with secret/dev/app and
secret/ops/db written, and policy dev-read allows reading secret/data/dev/*.
Prints one "ok <step>" line per finished step; a failed check raises.
"""
import sys

import hvac
from hvac import exceptions

addr, root = sys.argv[1], sys.argv[2]
admin = hvac.Client(url=addr, token=root)


def ok(step):
    print("ok", step, flush=True)


def expect_raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as err:
        return err
    raise AssertionError(f"expected {exc_type.__name__} from {fn.__name__}")


admin.sys.enable_auth_method(method_type="userpass")
assert "userpass/" in admin.sys.list_auth_methods()["data"]
ok("userpass enabled")

up = admin.auth.userpass
up.create_or_update_user("Alice", password="alice-pw-1", policies=["dev-read"])
up.create_or_update_user("bob", password="bob-pw", token_policies="default", token_ttl="1h")
assert up.list_user()["data"]["keys"] == ["alice", "bob"]
alice_conf = up.read_user("ALICE")["data"]
assert alice_conf["token_policies"] == ["dev-read"], alice_conf
assert "password" not in alice_conf and "password_hash" not in alice_conf
assert up.read_user("bob")["data"]["token_ttl"] == 3600
up.update_password_on_user("alice", "alice-pw-2")
ok("users created, listed, read and a password changed")

alice = hvac.Client(url=addr)
resp = alice.auth.userpass.login("Alice", "alice-pw-2")
assert alice.token == resp["auth"]["client_token"]
assert resp["auth"]["metadata"] == {"username": "alice"}
assert sorted(resp["auth"]["policies"]) == ["default", "dev-read"]
assert alice.is_authenticated()
secret = alice.secrets.kv.v2.read_secret_version("dev/app", mount_point="secret")
assert secret["data"]["data"] == {"password": "s3cr3t-dev"}
expect_raises(exceptions.Forbidden, alice.secrets.kv.v2.read_secret_version, "ops/db", mount_point="secret")
ok("alice logs in and reads what dev-read allows, and nothing else")

stranger = hvac.Client(url=addr)
stale = expect_raises(exceptions.InvalidRequest, stranger.auth.userpass.login, "alice", "alice-pw-1")
unknown = expect_raises(exceptions.InvalidRequest, stranger.auth.userpass.login, "mallory", "alice-pw-1")
assert stale.errors == unknown.errors == ["invalid username or password"], (stale.errors, unknown.errors)
assert not stranger.token
ok("an old password and an unknown user are refused alike")

up.delete_user("bob")
expect_raises(exceptions.InvalidPath, up.read_user, "bob")
expect_raises(exceptions.InvalidRequest, stranger.auth.userpass.login, "bob", "bob-pw")
ok("a deleted user cannot log in")
