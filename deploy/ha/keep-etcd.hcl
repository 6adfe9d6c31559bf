# One Keep node of an HA cluster on etcd 3.4+. The stanza is Vault's, so a
# Vault config carries over (`etcd_api` is accepted and ignored: Keep speaks v3).
# Put the same stanza on every node; each has its own api_addr/cluster_addr.
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

# This node's own addresses: standbys forward requests to api_addr of the active node
# (or redirect there with disable_clustering = true).
api_addr     = "https://keep-1.internal:8200"
cluster_addr = "https://keep-1.internal:8201"

log_level = "info"

telemetry {
  prometheus_retention_time = "24h"
  disable_hostname          = true
}
