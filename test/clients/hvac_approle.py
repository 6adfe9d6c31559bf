"""Drives AppRole on a running, unsealed Keep server with Debian's python3-hvac.

Usage: hvac_approle.py ADDR ROOT_TOKEN
Prints one "ok <step>" line per finished step; any failed check raises, and
the exit status is non-zero. The last line is "secret_id <value>" of a
secret ID the caller can look for in the server's files.
"""
import sys

import hvac
from hvac import exceptions

addr, root = sys.argv[1], sys.argv[2]
admin = hvac.Client(url=addr, token=root)
approle = admin.auth.approle


def ok(step):
    print("ok", step, flush=True)


def expect_raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as err:
        return err
    raise AssertionError(f"expected {exc_type.__name__} from {fn.__name__}")


admin.sys.enable_auth_method("approle", path="approle")
admin.sys.enable_secrets_engine("kv", path="apps", options={"version": "2"})
admin.secrets.kv.v2.create_or_update_secret("web/db", {"password": "pw-web"}, mount_point="apps")
admin.secrets.kv.v2.create_or_update_secret("billing/db", {"password": "pw-billing"}, mount_point="apps")
admin.sys.create_or_update_policy("web-read", 'path "apps/data/web/*" { capabilities = ["read"] }')
ok("approle and kv v2 enabled, policy written")

approle.create_or_update_approle(
    "Web",
    token_policies=["web-read"],
    token_ttl="10m",
    token_max_ttl="1h",
    secret_id_num_uses=1,
    secret_id_ttl="30m",
    secret_id_bound_cidrs=["127.0.0.0/8"],
)
assert approle.list_roles()["data"]["keys"] == ["web"]
role = approle.read_role("web")["data"]
assert role["token_policies"] == ["web-read"], role
assert role["token_ttl"] == 600 and role["secret_id_num_uses"] == 1, role
assert role["secret_id_bound_cidrs"] == ["127.0.0.0/8"], role
ok("role created, listed and read (name case-insensitive)")

role_id = approle.read_role_id("web")["data"]["role_id"]
issued = approle.generate_secret_id("web", metadata={"host": "ci-1"}, cidr_list=["127.0.0.1/32"])["data"]
secret_id = issued["secret_id"]
assert issued["secret_id_num_uses"] == 1 and issued["secret_id_ttl"] == 1800, issued
ok("secret ID issued with metadata and a CIDR list")

app = hvac.Client(url=addr)
login = app.auth.approle.login(role_id=role_id, secret_id=secret_id)
assert app.token == login["auth"]["client_token"]
assert login["auth"]["policies"] == ["default", "web-read"], login["auth"]
assert login["auth"]["metadata"] == {"host": "ci-1", "role_name": "web"}, login["auth"]
assert login["auth"]["lease_duration"] == 600
read = app.secrets.kv.v2.read_secret_version("web/db", mount_point="apps")
assert read["data"]["data"]["password"] == "pw-web"
expect_raises(exceptions.Forbidden, app.secrets.kv.v2.read_secret_version, "billing/db", mount_point="apps")
ok("logged in, read the secret the role's policy allows, and no other")

again = hvac.Client(url=addr)
err = expect_raises(exceptions.InvalidRequest, again.auth.approle.login, role_id=role_id, secret_id=secret_id)
assert "invalid role or secret ID" in str(err), str(err)
assert again.token in (None, "")
ok("a second login with the used-up secret ID is refused")

second = approle.generate_secret_id("web")["data"]
looked = approle.read_secret_id("web", second["secret_id"])["data"]
assert looked["secret_id_accessor"] == second["secret_id_accessor"]
assert looked["last_used_time"] is None
by_accessor = approle.read_secret_id_accessor("web", second["secret_id_accessor"])["data"]
assert by_accessor["secret_id_num_uses"] == 1
accessors = approle.list_secret_id_accessors("web")["data"]["keys"]
assert accessors == [second["secret_id_accessor"]], accessors
approle.destroy_secret_id_accessor("web", second["secret_id_accessor"])
expect_raises(exceptions.InvalidPath, approle.read_secret_id_accessor, "web", second["secret_id_accessor"])
expect_raises(exceptions.InvalidPath, approle.list_secret_id_accessors, "web")
ok("secret ID looked up by value and accessor, listed, destroyed")

approle.create_or_update_approle("batch-jobs", token_policies=["web-read"])
custom = approle.create_custom_secret_id("batch-jobs", "a-chosen-secret-id", metadata={"team": "ops"})
assert custom["data"]["secret_id"] == "a-chosen-secret-id"
jobs_role_id = approle.read_role_id("batch-jobs")["data"]["role_id"]
approle.update_role_id("batch-jobs", "jobs-role-id")
expect_raises(exceptions.InvalidRequest, hvac.Client(url=addr).auth.approle.login, jobs_role_id, "a-chosen-secret-id")
jobs = hvac.Client(url=addr)
jobs.auth.approle.login("jobs-role-id", "a-chosen-secret-id")
self_lookup = jobs.auth.token.lookup_self()["data"]
assert self_lookup["meta"] == {"team": "ops", "role_name": "batch-jobs"}, self_lookup
assert self_lookup["last_used_addr"] == "127.0.0.1", self_lookup
approle.destroy_secret_id("batch-jobs", "a-chosen-secret-id")
ok("custom secret ID and custom role ID log in")

approle.delete_role("batch-jobs")
expect_raises(exceptions.InvalidPath, approle.read_role, "batch-jobs")
assert approle.list_roles()["data"]["keys"] == ["web"]
ok("role deleted")

print("secret_id", secret_id, flush=True)
