# NOT USABLE YET: etcd storage and HA arrive with Keep's HA work. Until then
# `keep server` refuses to start with this file (unknown storage type "etcd").
# The stanza is Vault's, so a Vault config carries over unchanged.
storage "etcd" {
  address    = "https://etcd-1.internal:2379,https://etcd-2.internal:2379,https://etcd-3.internal:2379"
  etcd_api   = "v3"
  path       = "keep/"
  ha_enabled = "true"
  tls_ca_file   = "/etc/keep/etcd-ca.pem"
  tls_cert_file = "/etc/keep/etcd-client.pem"
  tls_key_file  = "/etc/keep/etcd-client-key.pem"
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

# This node's own addresses: clients are redirected to api_addr of the active node.
api_addr     = "https://keep-1.internal:8200"
cluster_addr = "https://keep-1.internal:8201"

log_level = "info"

telemetry {
  prometheus_retention_time = "24h"
  disable_hostname          = true
}
