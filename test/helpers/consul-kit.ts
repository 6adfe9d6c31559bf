/**
 * Steps shared by the Consul-face suites: initialise and unseal a server,
 * make policies and tokens through the Vault API, and send raw requests to
 * the Consul listener with the path exactly as given.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { KeepProcess } from './keep-server.ts';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Initialises with one share and unseals; returns the root token and the share. */
export async function initKeep(server: KeepProcess): Promise<{ root: string; key: string }> {
  const init = await vault(server, '', 'PUT', 'sys/init', {
    secret_shares: 1,
    secret_threshold: 1,
  });
  await vault(server, '', 'PUT', 'sys/unseal', { key: init.keys[0] });
  return { root: init.root_token, key: init.keys[0] };
}

/** The parts of Vault answers these suites read. */
export interface VaultAnswer {
  keys: string[];
  root_token: string;
  auth: { client_token: string; accessor: string };
}

/** One Vault API call; returns the parsed body (or {} for 204). */
export async function vault(
  server: KeepProcess,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<VaultAnswer> {
  const res = await fetch(`${server.addr}/v1/${path}`, {
    method,
    headers: token ? { 'X-Vault-Token': token } : {},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as VaultAnswer;
}

/** A policy named `name` with `hcl`, and a token holding only it. */
export async function tokenWithPolicy(
  server: KeepProcess,
  root: string,
  name: string,
  hcl: string,
): Promise<{ token: string; accessor: string }> {
  await vault(server, root, 'PUT', `sys/policies/acl/${name}`, { policy: hcl });
  const created = await vault(server, root, 'POST', 'auth/token/create', {
    policies: [name],
    no_default_policy: true,
    display_name: name,
  });
  return { token: created.auth.client_token, accessor: created.auth.accessor };
}

/** A request to the Consul face through node:http (paths go out verbatim). */
export function consul(
  server: KeepProcess,
  method: string,
  path: string,
  opts: { token?: string; body?: string | Buffer; headers?: Record<string, string | number> } = {},
): Promise<Reply> {
  const url = new URL(server.consulAddr ?? assert.fail('the server runs no Consul face'));
  const headers: Record<string, string | number> = { ...opts.headers };
  if (opts.token) headers['X-Consul-Token'] = opts.token;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Every key with its value, flags and indexes, to show nothing changed. */
export async function kvSnapshot(
  server: KeepProcess,
  token: string,
): Promise<{ status: number; index: string | string[] | undefined; body: string }> {
  const res = await consul(server, 'GET', '/v1/kv/?recurse', { token });
  return { status: res.status, index: res.headers['x-consul-index'], body: res.text };
}
