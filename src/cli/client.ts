/**
 * The HTTP client the commands share: where the server is, which token to
 * send, and Vault's API semantics for reads, writes, lists and deletes.
 *
 * Requests go through `node:http`/`node:https` rather than the global fetch:
 * Node 20's fetch cannot be given a CA certificate, a client certificate or
 * "skip verification" without the separate undici package, and one transport
 * for every case is simpler than two.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConnectionError, LocalError, ResponseError } from './errors.ts';
import type { Secret } from './output.ts';

export const DEFAULT_ADDRESS = 'http://127.0.0.1:8200';
export const TOKEN_FILE_NAME = '.keep-token';

type Env = Readonly<Record<string, string | undefined>>;

/** The first non-empty value among the flag and the named variables. */
function firstSet(env: Env, flag: string | undefined, names: string[]): string | undefined {
  if (flag) return flag;
  for (const name of names) {
    if (env[name]) return env[name];
  }
  return undefined;
}

/** `-address`, then `KEEP_ADDR`, then `VAULT_ADDR`, then the loopback default. */
export function resolveAddress(flag: string | undefined, env: Env): string {
  return firstSet(env, flag, ['KEEP_ADDR', 'VAULT_ADDR']) ?? DEFAULT_ADDRESS;
}

/** `~/.keep-token`, with `HOME` honoured first so tests and sandboxes can move it. */
export function tokenFilePath(env: Env): string {
  return join(env.HOME || homedir(), TOKEN_FILE_NAME);
}

/** `KEEP_TOKEN`, then `VAULT_TOKEN`, then the token file; undefined when none is set. */
export function resolveToken(env: Env): string | undefined {
  const fromEnv = firstSet(env, undefined, ['KEEP_TOKEN', 'VAULT_TOKEN']);
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(tokenFilePath(env), 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConnectionError(`failed to get token from token helper: ${(err as Error).message}`);
  }
}

/** Writes the token file readable by its owner only, also when it already existed. */
export function storeToken(env: Env, token: string): void {
  const path = tokenFilePath(env);
  writeFileSync(path, token, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export interface TlsSettings {
  caCert?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  serverName?: string;
  skipVerify: boolean;
}

/** TLS settings from flags, then `KEEP_*`, then Vault's `VAULT_*` variables. */
export function resolveTls(flags: Partial<TlsSettings>, env: Env): TlsSettings {
  const skip = firstSet(env, undefined, ['KEEP_SKIP_VERIFY', 'VAULT_SKIP_VERIFY']);
  return {
    caCert: firstSet(env, flags.caCert, ['KEEP_CACERT', 'VAULT_CACERT']),
    caPath: firstSet(env, flags.caPath, ['KEEP_CAPATH', 'VAULT_CAPATH']),
    clientCert: firstSet(env, flags.clientCert, ['KEEP_CLIENT_CERT', 'VAULT_CLIENT_CERT']),
    clientKey: firstSet(env, flags.clientKey, ['KEEP_CLIENT_KEY', 'VAULT_CLIENT_KEY']),
    serverName: firstSet(env, flags.serverName, ['KEEP_TLS_SERVER_NAME', 'VAULT_TLS_SERVER_NAME']),
    skipVerify:
      flags.skipVerify === true || ['1', 't', 'true', 'TRUE', 'True'].includes(skip ?? ''),
  };
}

export interface ClientConfig {
  address: string;
  token?: string;
  tls: TlsSettings;
}

export interface RawResponse {
  status: number;
  method: string;
  url: string;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  /** Send this token instead of the configured one (login checks a candidate). */
  token?: string;
}

/** Go's `url.Error` spells the method like "Get" and "Put". */
function goMethod(method: string): string {
  return method[0] + method.slice(1).toLowerCase();
}

/** Percent-encodes a path the way Go's URL type does, keeping `/` and sub-delimiters. */
/**
 * Percent-encodes a logical path for the URL. Dot segments are refused here:
 * a WHATWG URL resolves `secret/data/../../sys/x` (even with the dots
 * percent-encoded) into `sys/x` before sending, so the request would land on
 * another endpoint than the one named, where the server itself refuses them.
 */
export function encodePath(path: string): string {
  const segments = path.split('/');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new LocalError(`invalid path "${path}": "." and ".." segments are not allowed`);
  }
  return segments
    .map((segment) =>
      encodeURIComponent(segment).replace(/%(24|26|2B|2C|3A|3B|3D|40)/g, (m) =>
        decodeURIComponent(m),
      ),
    )
    .join('/');
}

function connectionReason(err: NodeJS.ErrnoException, url: URL): string {
  const hostPort = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostPort}: connect: connection refused`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'ETIMEDOUT':
      return `dial tcp ${hostPort}: i/o timeout`;
    default:
      return err.message;
  }
}

const REQUEST_TIMEOUT_MS = 60_000;

export class ApiClient {
  constructor(readonly config: ClientConfig) {}

  get token(): string | undefined {
    return this.config.token;
  }

  /** One request; HTTP error statuses are returned, not thrown. Throws ConnectionError. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
    let url = this.url(path, opts.query);
    const headers: Record<string, string> = { 'X-Vault-Request': 'true', ...opts.headers };
    const token = opts.token ?? this.config.token;
    if (token) headers['X-Vault-Token'] = token;

    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }

    // A standby may redirect to the active node; Vault's client follows it.
    for (let hops = 0; ; hops++) {
      const res = await this.send(method, url, headers, body);
      const location = res.headers.location;
      if ((res.status === 307 || res.status === 308) && location && hops < 3) {
        url = new URL(location, url);
        continue;
      }
      return { status: res.status, method, url: url.toString(), text: res.text };
    }
  }

  /** Logical read: 404 without data is "nothing there" (null), not an error. */
  async read(path: string, query?: Record<string, string | string[]>): Promise<Secret | null> {
    return this.logical('GET', path, { query });
  }

  /** Logical list via `GET ?list=true`, the Go client's habit (Node cannot serve `LIST`). */
  async list(path: string): Promise<Secret | null> {
    return this.logical('GET', path, { query: { list: 'true' } });
  }

  /** Logical write, with PUT unless `method` says otherwise (token creation uses POST). */
  async write(
    path: string,
    body: unknown,
    opts: { method?: string; headers?: Record<string, string> } = {},
  ): Promise<Secret | null> {
    return this.logical(opts.method ?? 'PUT', path, { body, headers: opts.headers }, true);
  }

  async delete(path: string, query?: Record<string, string | string[]>): Promise<Secret | null> {
    return this.logical('DELETE', path, { query }, true);
  }

  /** A `sys/` or other plain call: any status of 400 or more throws ResponseError. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<T | null> {
    const res = await this.raw(method, path, opts);
    if (res.status >= 400) throw responseError(res);
    return parseBody(res) as T | null;
  }

  /**
   * Vault's `Logical()` rules for a 404: a body carrying data or warnings is
   * a real answer (a deleted KV v2 version, say). Reads and lists then return
   * it, writes and deletes throw with it attached; without data a read is null.
   */
  private async logical(
    method: string,
    path: string,
    opts: RequestOptions,
    notFoundThrows = false,
  ): Promise<Secret | null> {
    const res = await this.raw(method, path, opts);
    if (res.status === 404) {
      const secret = parseSecretLoosely(res.text);
      const meaningful =
        secret && (secret.warnings?.length || Object.keys(secret.data ?? {}).length);
      if (meaningful && !notFoundThrows) return secret;
      if (!notFoundThrows) return null;
      const err = responseError(res);
      if (meaningful) Object.assign(err, { secret });
      throw err;
    }
    if (res.status >= 400) throw responseError(res);
    return parseBody(res) as Secret | null;
  }

  private url(path: string, query?: Record<string, string | string[]>): URL {
    const base = this.config.address.replace(/\/+$/, '');
    const encoded = encodePath(path.replace(/^\/+/, ''));
    let url: URL;
    try {
      url = new URL(`${base}/v1/${encoded}`);
    } catch {
      throw new ConnectionError(`failed to create client: invalid address ${JSON.stringify(base)}`);
    }
    // Go sorts query parameters by name when it encodes them.
    for (const key of Object.keys(query ?? {}).sort()) {
      const value = query![key];
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
    }
    return url;
  }

  private send(method: string, url: URL, headers: Record<string, string>, body?: string) {
    const tls = this.tlsOptions(url);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>(
      (resolve, reject) => {
        const fail = (err: NodeJS.ErrnoException) =>
          reject(
            new ConnectionError(`${goMethod(method)} "${url}": ${connectionReason(err, url)}`),
          );
        const req = transport.request(url, { method, headers, agent: false, ...tls }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        });
        req.setTimeout(REQUEST_TIMEOUT_MS, () =>
          req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
        );
        req.on('error', fail);
        req.end(body);
      },
    );
  }

  private tlsOptions(url: URL): https.RequestOptions {
    if (url.protocol !== 'https:') return {};
    const tls = this.config.tls;
    try {
      const ca: Buffer[] = [];
      if (tls.caCert) ca.push(readFileSync(tls.caCert));
      else if (tls.caPath) {
        for (const name of readdirSync(tls.caPath)) ca.push(readFileSync(join(tls.caPath, name)));
      }
      return {
        ...(ca.length > 0 ? { ca } : {}),
        ...(tls.clientCert ? { cert: readFileSync(tls.clientCert) } : {}),
        ...(tls.clientKey ? { key: readFileSync(tls.clientKey) } : {}),
        ...(tls.serverName ? { servername: tls.serverName } : {}),
        rejectUnauthorized: !tls.skipVerify,
      };
    } catch (err) {
      throw new ConnectionError(`failed to setup TLS config: ${(err as Error).message}`);
    }
  }
}

function parseSecretLoosely(text: string): Secret | null {
  try {
    return text.trim() ? (JSON.parse(text) as Secret) : null;
  } catch {
    return null;
  }
}

function parseBody(res: RawResponse): unknown {
  if (res.text.trim() === '') return null;
  try {
    return JSON.parse(res.text);
  } catch (err) {
    throw new ConnectionError(
      `unparseable response from ${res.method} ${res.url}: ${(err as Error).message}`,
    );
  }
}

/** Builds the error for a status of 400 or more from Vault's `{"errors": [...]}` body. */
export function responseError(res: RawResponse): ResponseError {
  try {
    const body = JSON.parse(res.text) as { errors?: unknown };
    if (body && typeof body === 'object' && Array.isArray(body.errors)) {
      return new ResponseError(res.method, res.url, res.status, body.errors.map(String), false);
    }
  } catch {
    // Not JSON: fall through to the raw message.
  }
  return new ResponseError(res.method, res.url, res.status, [res.text], true);
}

/** The `data` of a non-logical `sys/` answer, which older servers put at the top level. */
export function dataOf(body: Record<string, unknown> | null): Record<string, unknown> {
  if (!body) return {};
  const data = body.data;
  return data && typeof data === 'object' ? (data as Record<string, unknown>) : body;
}
