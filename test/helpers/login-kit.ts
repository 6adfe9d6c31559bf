/**
 * Shared steps of the login-method end-to-end tests (userpass, GitHub):
 * initialise and unseal a fresh server, call its API with or without a
 * token, and run the built `keep` CLI against it with a clean environment.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { KEEP_BIN, type KeepProcess } from './keep-server.ts';

export interface Answer {
  status: number;
  json: {
    errors?: string[];
    data?: Record<string, unknown> | null;
    auth?: {
      client_token: string;
      policies: string[];
      metadata: Record<string, string> | null;
    } | null;
    warnings?: string[] | null;
  };
}

/** Initialises with one share, unseals, mounts KV v2 at `secret/`; returns the root token. */
export async function bootstrap(server: KeepProcess): Promise<string> {
  const put = (path: string, body: unknown) =>
    fetch(`${server.addr}/v1/${path}`, { method: 'PUT', body: JSON.stringify(body) });
  const init = await (await put('sys/init', { secret_shares: 1, secret_threshold: 1 })).json();
  await put('sys/unseal', { key: init.keys[0] });
  const mounted = await fetch(`${server.addr}/v1/sys/mounts/secret`, {
    method: 'POST',
    headers: { 'X-Vault-Token': init.root_token },
    body: JSON.stringify({ type: 'kv', options: { version: '2' } }),
  });
  assert.equal(mounted.status, 204);
  return init.root_token as string;
}

export type Call = (
  method: string,
  path: string,
  body?: unknown,
  opts?: { token?: string | null; headers?: Record<string, string> },
) => Promise<Answer>;

/** API calls against `server`, with `defaultToken()` unless a call says otherwise. */
export function apiClient(server: () => KeepProcess, defaultToken: () => string): Call {
  return async (method, path, body, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? defaultToken() : opts.token;
    if (token) headers['X-Vault-Token'] = token;
    const res = await fetch(`${server().addr}/v1/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {} };
  };
}

export async function expectOk(call: Call, method: string, path: string, body?: unknown) {
  const res = await call(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/keep.mjs ...args` with only PATH, HOME and KEEP_ADDR set, plus `env`. */
export function runKeep(
  server: KeepProcess,
  args: string[],
  opts: { home: string; stdin?: string; env?: Record<string, string> },
): Promise<CliRun> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: opts.home,
    KEEP_ADDR: server.addr,
    ...opts.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEEP_BIN, ...args], { cwd: opts.home, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Series values from `sys/metrics?format=prometheus`, by series (`name{labels}`). */
export async function promSeries(server: KeepProcess, token: string): Promise<Map<string, number>> {
  const res = await fetch(`${server.addr}/v1/sys/metrics?format=prometheus`, {
    headers: { 'X-Vault-Token': token },
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
