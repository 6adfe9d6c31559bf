/**
 * Accepting Vault's `LIST` verb on Node's HTTP/1 server.
 *
 * Why own code: Node's parser (llhttp) has a fixed method table, so `LIST /v1/x HTTP/1.1` dies with
 * HPE_INVALID_METHOD before fastify sees it, and no registry package rewrites the request line in
 * front of it (LIBRARIES.md 2.1, WIRE.md "Node.js consequences"). Exact compatibility with hvac and
 * node-vault needs the verb, so each accepted socket is wrapped in a Duplex that follows HTTP/1.1
 * request framing and rewrites `LIST <target> HTTP/1.x` into `GET <target>?list=true HTTP/1.x`.
 *
 * Only request lines and header lines are scanned; body bytes are counted and forwarded as slices
 * of the socket's own buffers. A request in a single chunk that needs no rewrite is forwarded as
 * the very same Buffer. Anything the framer cannot follow with certainty (bad request line,
 * obs-fold, duplicate or invalid Content-Length, Transfer-Encoding not ending in chunked,
 * CONNECT or Upgrade, overlong lines) switches the connection to plain pass-through: nothing is
 * rewritten any more, and Node's parser answers 400 (or takes over an upgrade) on its own.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { InternalError } from '../lib/errors.ts';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;

/** Longest request line, header line, chunk-size line or trailer line followed, in bytes. */
const DEFAULT_MAX_LINE = 64 * 1024;

const REQUEST_LINE = 0;
const HEADERS = 1;
const BODY = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_END = 5;
const TRAILERS = 6;
const PASS = 7;

/**
 * Follows HTTP/1.1 request framing over a byte stream and rewrites LIST request lines.
 * Feed chunks with `write`, call `end` at end of input; rewritten output goes to `emit`.
 */
export class RequestFramer {
  #state = REQUEST_LINE;
  /** Withheld prefix of a request line that spans chunks. */
  #held: Buffer | null = null;
  /** Prefix of a header / chunk-size / trailer line that spans chunks (already emitted). */
  #carry: Buffer | null = null;
  /** Body or chunk bytes still to forward. */
  #remaining = 0;
  #contentLength = -1;
  #transferEncoding: string | null = null;
  #teHeaders = 0;
  #tunnel = false;
  readonly #emit: (chunk: Buffer) => void;
  readonly #maxLine: number;

  constructor(emit: (chunk: Buffer) => void, opts: { maxLineBytes?: number } = {}) {
    this.#emit = emit;
    this.#maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
  }

  /** True once the framer has given up following the stream and only forwards bytes. */
  get passingThrough(): boolean {
    return this.#state === PASS;
  }

  write(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    let from = 0; // start of the part of `chunk` not yet emitted
    while (pos < end && this.#state !== PASS) {
      if (this.#state === BODY || this.#state === CHUNK_DATA) {
        const n = Math.min(this.#remaining, end - pos);
        pos += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = this.#state === BODY ? REQUEST_LINE : CHUNK_END;
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      if (this.#state === REQUEST_LINE) {
        if (lf === -1) {
          if (pos > from) this.#emit(chunk.subarray(from, pos));
          const part = chunk.subarray(pos);
          this.#held = this.#held ? Buffer.concat([this.#held, part]) : Buffer.from(part);
          from = pos = end;
          if (this.#held.length > this.#maxLine) this.#pass();
          break;
        }
        const start = pos;
        pos = lf + 1;
        const held = this.#held;
        const line = held
          ? Buffer.concat([held, chunk.subarray(start, pos)])
          : chunk.subarray(start, pos);
        this.#held = null;
        const rewritten = this.#requestLine(line);
        if (rewritten) {
          if (start > from) this.#emit(chunk.subarray(from, start));
          this.#emit(rewritten);
          from = pos;
        } else if (held) {
          this.#emit(held); // `from` is 0 here: the rest of the line goes out with the chunk
        }
        continue;
      }
      if (lf === -1) {
        const part = chunk.subarray(pos);
        this.#carry = this.#carry ? Buffer.concat([this.#carry, part]) : Buffer.from(part);
        pos = end;
        if (this.#carry.length > this.#maxLine) this.#pass();
        break;
      }
      let line = chunk.subarray(pos, lf);
      if (this.#carry) {
        line = Buffer.concat([this.#carry, line]);
        this.#carry = null;
      }
      pos = lf + 1;
      const len = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
      if (len > this.#maxLine) this.#pass();
      else if (this.#state === HEADERS) this.#headerLine(line, len);
      else if (this.#state === CHUNK_SIZE) this.#chunkSizeLine(line, len);
      else if (this.#state === CHUNK_END) this.#state = len === 0 ? CHUNK_SIZE : PASS;
      else if (len === 0) this.#state = REQUEST_LINE; // TRAILERS: empty line ends the message
    }
    if (from < end) this.#emit(from === 0 ? chunk : chunk.subarray(from));
  }

  /** End of input: forwards a withheld partial request line as it is. */
  end(): void {
    if (this.#held) this.#emit(this.#held);
    this.#held = null;
  }

  #pass(): void {
    this.#state = PASS;
    this.#carry = null;
    if (this.#held) this.#emit(this.#held);
    this.#held = null;
  }

  /** Handles a complete request line (with its LF); returns the replacement, if any. */
  #requestLine(line: Buffer): Buffer | null {
    if (line.length > this.#maxLine) {
      this.#state = PASS;
      return null;
    }
    const eol = line.length > 1 && line[line.length - 2] === CR ? 2 : 1;
    if (line.length === eol) return null; // empty lines before a request are allowed
    const text = line.toString('latin1', 0, line.length - eol);
    const sp1 = text.indexOf(' ');
    const sp2 = text.indexOf(' ', sp1 + 1);
    const version = text.slice(sp2 + 1);
    if (
      sp1 <= 0 ||
      sp2 <= sp1 + 1 ||
      text.indexOf(' ', sp2 + 1) !== -1 ||
      (version !== 'HTTP/1.1' && version !== 'HTTP/1.0')
    ) {
      this.#state = PASS;
      return null;
    }
    this.#state = HEADERS;
    this.#contentLength = -1;
    this.#transferEncoding = null;
    this.#teHeaders = 0;
    const method = text.slice(0, sp1);
    this.#tunnel = method === 'CONNECT';
    if (method !== 'LIST') return null;
    const target = withListQuery(text.slice(sp1 + 1, sp2));
    return Buffer.from(`GET ${target} ${version}${eol === 2 ? '\r\n' : '\n'}`, 'latin1');
  }

  #headerLine(line: Buffer, len: number): void {
    if (len === 0) {
      this.#endOfHead();
      return;
    }
    const colon = line.indexOf(0x3a);
    // obs-fold, a missing name or whitespace before the colon: Node rejects these, we stop.
    if (line[0] === SP || line[0] === HT || colon <= 0 || colon >= len) {
      this.#pass();
      return;
    }
    const last = line[colon - 1];
    if (last === SP || last === HT) {
      this.#pass();
      return;
    }
    if (colon !== 14 && colon !== 17 && colon !== 7) return; // fast path: not a framing header
    const name = line.toString('latin1', 0, colon).toLowerCase();
    if (name === 'content-length') {
      const value = trimOws(line.toString('latin1', colon + 1, len));
      if (this.#contentLength !== -1 || !/^\d{1,15}$/.test(value)) this.#pass();
      else this.#contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      this.#teHeaders++;
      this.#transferEncoding = line.toString('latin1', colon + 1, len);
    } else if (name === 'upgrade') {
      this.#tunnel = true;
    }
  }

  #endOfHead(): void {
    if (this.#tunnel) {
      this.#pass();
    } else if (this.#transferEncoding !== null) {
      const codings = this.#transferEncoding.split(',');
      const lastCoding = trimOws(codings[codings.length - 1]!).toLowerCase();
      if (this.#contentLength !== -1 || this.#teHeaders > 1 || lastCoding !== 'chunked') {
        this.#pass();
      } else {
        this.#state = CHUNK_SIZE;
      }
    } else if (this.#contentLength > 0) {
      this.#remaining = this.#contentLength;
      this.#state = BODY;
    } else {
      this.#state = REQUEST_LINE;
    }
  }

  #chunkSizeLine(line: Buffer, len: number): void {
    let size = 0;
    let i = 0;
    for (; i < len; i++) {
      const digit = hexValue(line[i]!);
      if (digit < 0) break;
      size = size * 16 + digit;
    }
    // 1 to 13 hex digits (stays an exact number), then nothing or a chunk extension.
    if (i === 0 || i > 13 || (i < len && line[i] !== 0x3b)) {
      this.#pass();
    } else if (size === 0) {
      this.#state = TRAILERS;
    } else {
      this.#remaining = size;
      this.#state = CHUNK_DATA;
    }
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === ' ' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === ' ' || s[b - 1] === '\t')) b--;
  return s.slice(a, b);
}

/** Adds `list=true` to a request target's query, before any fragment. */
export function withListQuery(target: string): string {
  const hash = target.indexOf('#');
  const at = hash === -1 ? target.length : hash;
  const query = target.indexOf('?');
  let sep = '?';
  if (query !== -1 && query < at) {
    const prev = target[at - 1];
    sep = prev === '?' || prev === '&' ? '' : '&';
  }
  return target.slice(0, at) + sep + 'list=true' + target.slice(at);
}

/**
 * A socket as http.Server sees it: reads go through a RequestFramer, writes go straight to the
 * real socket, and what http and fastify read from a socket is proxied to the real one.
 */
export class ListShimSocket extends Duplex {
  /** The accepted net.Socket or tls.TLSSocket. */
  readonly raw: net.Socket;
  readonly #framer: RequestFramer;

  constructor(raw: net.Socket) {
    super({ allowHalfOpen: true, decodeStrings: false });
    this.raw = raw;
    this.#framer = new RequestFramer((chunk) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('data', (chunk: Buffer) => this.#framer.write(chunk));
    raw.on('end', () => {
      this.#framer.end();
      this.push(null);
    });
    raw.on('error', (err) => this.destroy(err));
    raw.on('close', () => this.destroy());
    raw.on('timeout', () => this.emit('timeout'));
  }

  override _read(): void {
    if (this.raw.isPaused()) this.raw.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: () => void): void {
    if (this.raw.write(chunk, encoding)) cb();
    else this.raw.once('drain', cb);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>,
    cb: () => void,
  ): void {
    const raw = this.raw;
    raw.cork();
    let ok = true;
    for (const { chunk, encoding } of chunks) ok = raw.write(chunk, encoding);
    raw.uncork();
    if (ok) cb();
    else raw.once('drain', cb);
  }

  override _final(cb: () => void): void {
    this.raw.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.raw.destroy();
    cb(err);
  }

  /** Like net.Socket's: end, then destroy once everything written has been flushed. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.raw.setTimeout(ms);
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    return this;
  }

  setNoDelay(noDelay?: boolean): this {
    this.raw.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.raw.setKeepAlive(enable, initialDelay);
    return this;
  }

  ref(): this {
    this.raw.ref();
    return this;
  }

  unref(): this {
    this.raw.unref();
    return this;
  }

  address(): ReturnType<net.Socket['address']> {
    return this.raw.address();
  }

  get remoteAddress(): string | undefined {
    return this.raw.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.raw.remotePort;
  }

  get remoteFamily(): string | undefined {
    return this.raw.remoteFamily;
  }

  get localAddress(): string | undefined {
    return this.raw.localAddress;
  }

  get localPort(): number | undefined {
    return this.raw.localPort;
  }

  get bytesRead(): number {
    return this.raw.bytesRead;
  }

  get bytesWritten(): number {
    return this.raw.bytesWritten;
  }

  /** `true` on TLS connections (what fastify's `request.protocol` reads), else undefined. */
  get encrypted(): true | undefined {
    return (this.raw as Partial<tls.TLSSocket>).encrypted;
  }

  get authorized(): boolean | undefined {
    return (this.raw as Partial<tls.TLSSocket>).authorized;
  }

  /** The client certificate on TLS connections (for certificate auth); undefined on plain ones. */
  getPeerCertificate(detailed?: boolean): tls.PeerCertificate | undefined {
    const raw = this.raw as Partial<tls.TLSSocket>;
    return raw.getPeerCertificate?.(detailed);
  }
}

export interface ListShimOptions {
  /** undefined for plain HTTP, or TLS options (cert, key, ...) for HTTPS. */
  tls?: tls.TlsOptions;
}

/** fastify's settings that it applies itself only when it creates the server. */
interface FastifyServerSettings {
  http?: http.ServerOptions;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number | null;
}

/**
 * An http.Server (an https.Server with `tls`) whose connections pass through ListShimSocket.
 * It is the listening server itself, so listen, address, close, closeIdleConnections and the
 * connection-tracking timeouts behave exactly as on a server fastify would create.
 */
export function createListShimServer(
  handler: http.RequestListener,
  opts: ListShimOptions = {},
  settings: FastifyServerSettings = {},
): http.Server {
  const httpOpts = settings.http ?? {};
  const server = opts.tls
    ? (https.createServer({ ...httpOpts, ...opts.tls }, handler) as unknown as http.Server)
    : http.createServer(httpOpts, handler);
  // http.Server handles 'connection' and https.Server 'secureConnection' with Node's
  // connection listener; that one listener now receives the wrapped socket instead.
  const event = opts.tls ? 'secureConnection' : 'connection';
  const listeners = server.listeners(event);
  if (listeners.length !== 1) throw new InternalError(`unexpected ${event} listeners`);
  const onConnection = listeners[0] as (this: http.Server, socket: net.Socket) => void;
  server.removeListener(event, onConnection);
  server.on(event, (socket: net.Socket) => {
    onConnection.call(server, new ListShimSocket(socket) as unknown as net.Socket);
  });
  // The same settings fastify applies to servers it creates itself.
  if (typeof settings.keepAliveTimeout === 'number') {
    server.keepAliveTimeout = settings.keepAliveTimeout;
  }
  if (typeof settings.requestTimeout === 'number') server.requestTimeout = settings.requestTimeout;
  if (typeof settings.connectionTimeout === 'number') server.setTimeout(settings.connectionTimeout);
  if (typeof settings.maxRequestsPerSocket === 'number' && settings.maxRequestsPerSocket > 0) {
    server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
  }
  return server;
}

/**
 * For fastify's `serverFactory` option:
 * `fastify({ serverFactory: listShimServerFactory({ tls }) })`.
 */
export function listShimServerFactory(
  opts: ListShimOptions = {},
): (handler: http.RequestListener, fastifyServerOpts: unknown) => http.Server {
  return (handler, fastifyServerOpts) =>
    createListShimServer(
      handler,
      opts,
      typeof fastifyServerOpts === 'object' && fastifyServerOpts !== null
        ? (fastifyServerOpts as FastifyServerSettings)
        : {},
    );
}
