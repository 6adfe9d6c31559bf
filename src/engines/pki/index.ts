/**
 * The `pki` secrets engine: a certificate authority on Vault's PKI paths, one
 * CA per mount (root, or intermediate signed by another mount or outside CA).
 * Layout: ca.ts (the CA), roles.ts, issue.ts (leaf certificates), crl.ts
 * (revocation, CRL, tidy), fetch.ts (reading certificates and CRLs),
 * names.ts (role name rules), keys.ts and x509.ts (keys and encoding on
 * @peculiar/x509), store.ts (what is stored where).
 */
import { defineBackend } from '../../framework/backend.ts';
import type { Backend } from '../../framework/types.ts';
import { caPaths } from './ca.ts';
import { revocationPaths } from './crl.ts';
import { fetchPaths, UNAUTHENTICATED_PATHS } from './fetch.ts';
import { issuePaths } from './issue.ts';
import { rolePaths } from './roles.ts';
import { PkiState } from './store.ts';

export function pkiBackend(): Backend {
  const state = new PkiState();
  return defineBackend({
    type: 'pki',
    help: HELP,
    unauthenticatedPaths: UNAUTHENTICATED_PATHS,
    paths: [
      ...caPaths(state),
      ...rolePaths(),
      ...issuePaths(state),
      ...revocationPaths(state),
      ...fetchPaths(state),
    ],
    initialize: async () => state.clear(),
    cleanup: async () => state.cleanup(),
  });
}

const HELP =
  'The pki backend is a certificate authority: generate or import a CA, define roles, ' +
  'then issue certificates (issue/<role>) or sign CSRs (sign/<role>); revoke them and ' +
  'publish a CRL. Private keys are stored only behind the barrier.';
