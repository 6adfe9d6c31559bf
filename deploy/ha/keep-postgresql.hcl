# One Keep node of an HA cluster on PostgreSQL 15+. The stanza is Vault's;
# the tables are Keep's own and are created on first start (an existing
# Vault table of the same name is not readable by Keep: give Keep its own):
#   keep_kv_store (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA), with
#   keep_kv_store_meta (the revision) and keep_kv_store_log (changes, for watches);
#   keep_ha_locks (ha_key, ha_identity, ha_value, valid_until): the lock's lease row.
storage "postgresql" {
  connection_url = "postgres://keep@db.internal:5432/keep?sslmode=verify-full"
  table          = "keep_kv_store"
  ha_enabled     = "true"
  ha_table       = "keep_ha_locks"
  max_parallel   = "32"
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/etc/keep/tls.crt"
  tls_key_file    = "/etc/keep/tls.key"

  telemetry {
    unauthenticated_metrics_access = true
  }
}

api_addr     = "https://keep-1.internal:8200"
cluster_addr = "https://keep-1.internal:8201"

telemetry {
  prometheus_retention_time = "24h"
  disable_hostname          = true
}
