/** Keep's own release. */
export const KEEP_VERSION = '0.1.0';

/**
 * The version reported where Vault reports its own: the Vault API level Keep
 * speaks, with Keep's release as build metadata. Tools that compare versions
 * to decide which endpoints exist (KV PATCH needs 1.9+) then choose right.
 */
export const VAULT_API_VERSION = `1.17.0+keep.${KEEP_VERSION}`;
