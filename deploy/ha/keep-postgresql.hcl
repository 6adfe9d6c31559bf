# NOT USABLE YET: PostgreSQL storage and HA arrive with Keep's HA work. Until
# then `keep server` refuses to start with this file (unknown storage type
# "postgresql"). The stanza is Vault's, tables included:
#
#   CREATE TABLE vault_kv_store (parent_path TEXT COLLATE "C" NOT NULL,
#     path TEXT COLLATE "C", key TEXT COLLATE "C", value BYTEA,
#     CONSTRAINT pkey PRIMARY KEY (path, key));
#   CREATE INDEX parent_path_idx ON vault_kv_store (parent_path);
#   CREATE TABLE vault_ha_locks (ha_key TEXT COLLATE "C" NOT NULL,
#     ha_identity TEXT COLLATE "C" NOT NULL, ha_value TEXT COLLATE "C",
#     valid_until TIMESTAMP WITH TIME ZONE NOT NULL,
#     CONSTRAINT ha_key PRIMARY KEY (ha_key));
storage "postgresql" {
  connection_url = "postgres://keep@db.internal:5432/keep?sslmode=verify-full"
  table          = "vault_kv_store"
  ha_enabled     = "true"
  ha_table       = "vault_ha_locks"
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
