"""Drives Keep's github auth method with Debian's python3-hvac.

Usage: hvac_github.py ADDR ROOT_TOKEN GITHUB_BASE_URL
GITHUB_BASE_URL is a GitHub API stand-in where token ghp_alice is alice (in
org acme, teams platform-team and sre there), ghp_eve is eve (not in acme),
and any other token is refused with GitHub's 401. KV v2 is at secret/ with
secret/platform/app, secret/sre/app and secret/ops/db; policies
platform-read and sre-read read the first two.
Prints one "ok <step>" line per finished step; a failed check raises.
"""
import sys

import hvac
from hvac import exceptions

addr, root, github_base = sys.argv[1], sys.argv[2], sys.argv[3]
admin = hvac.Client(url=addr, token=root)


def ok(step):
    print("ok", step, flush=True)


def expect_raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as err:
        return err
    raise AssertionError(f"expected {exc_type.__name__} from {fn.__name__}")


admin.sys.enable_auth_method(method_type="github")
gh = admin.auth.github
gh.configure(organization="acme", base_url=github_base, ttl="1h", max_ttl="2h")
conf = gh.read_configuration()["data"]
assert conf["organization"] == "acme" and conf["organization_id"] == 1001, conf
assert conf["base_url"] == github_base and conf["token_ttl"] == 3600, conf
ok("github configured, organization id looked up")

gh.map_team("platform-team", policies=["platform-read"])
gh.map_team("SRE", policies=["sre-read", "default"])
gh.map_user("alice", policies=["alice-own"])
assert gh.read_team_mapping("Platform-Team")["data"]["value"] == "platform-read"
assert gh.read_user_mapping("ALICE")["data"]["value"] == "alice-own"
ok("teams and a user mapped to policies")

alice = hvac.Client(url=addr)
resp = alice.auth.github.login(token="ghp_alice")
assert alice.token == resp["auth"]["client_token"]
assert resp["auth"]["metadata"] == {"username": "alice", "org": "acme"}, resp["auth"]
policies = sorted(resp["auth"]["policies"])
assert policies == ["alice-own", "default", "platform-read", "sre-read"], policies
assert resp["auth"]["lease_duration"] == 3600
read = alice.secrets.kv.v2.read_secret_version
assert read("platform/app", mount_point="secret")["data"]["data"] == {"v": "platform-secret"}
assert read("sre/app", mount_point="secret")["data"]["data"] == {"v": "sre-secret"}
expect_raises(exceptions.Forbidden, read, "ops/db", mount_point="secret")
ok("alice logs in with both teams' policies and reads what they allow")

stranger = hvac.Client(url=addr)
wrong = expect_raises(exceptions.InvalidRequest, stranger.auth.github.login, token="ghp_wrong")
assert wrong.errors == ["invalid GitHub token: GitHub answered 401"], wrong.errors
outsider = expect_raises(exceptions.InvalidRequest, stranger.auth.github.login, token="ghp_eve")
assert outsider.errors == ["user is not part of required org"], outsider.errors
assert not stranger.token
ok("a wrong token and a user outside the org are refused")
