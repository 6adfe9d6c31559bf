import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import fc from 'fast-check';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import nodeVault from 'node-vault';
import {
  ListShimSocket,
  listShimServerFactory,
  RequestFramer,
  withListQuery,
} from './list-shim.ts';

const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Helpers

/** Runs the framer over `chunks` and returns what it emitted. */
function frame(chunks: Buffer[], opts?: { maxLineBytes?: number }) {
  const out: Buffer[] = [];
  const framer = new RequestFramer((b) => out.push(b), opts);
  for (const c of chunks) framer.write(c);
  framer.end();
  return { out, joined: Buffer.concat(out), framer };
}

function splitAt(buf: Buffer, sizes: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let pos = 0;
  for (const size of sizes) {
    if (pos >= buf.length) break;
    parts.push(buf.subarray(pos, pos + size));
    pos += size;
  }
  if (pos < buf.length) parts.push(buf.subarray(pos));
  return parts;
}

interface Echo {
  method: string;
  url: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  bodyLength?: number;
  bodySha256?: string;
  trailers: Record<string, string>;
  protocol: string;
  remoteAddress?: string;
  remotePort?: number;
  data?: { keys: string[] };
}

async function startApp(opts: { tls?: tls.TlsOptions } = {}) {
  const seen: Echo[] = [];
  const app = Fastify({ serverFactory: listShimServerFactory(opts), bodyLimit: 16 * 1024 * 1024 });
  const echo = async (req: FastifyRequest) => {
    const query = req.query as Record<string, string>;
    const body = req.body ?? null;
    const big = typeof body === 'string' && body.length > 4096;
    const e: Echo = {
      method: req.method,
      url: req.url,
      path: (req.params as Record<string, string>)['*']!,
      query,
      body: big ? '<big>' : body,
      trailers: req.raw.trailers as Record<string, string>,
      protocol: req.protocol,
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
    };
    if (big) {
      e.bodyLength = Buffer.byteLength(body);
      e.bodySha256 = createHash('sha256').update(body).digest('hex');
    }
    if (query.list === 'true') e.data = { keys: ['a'] };
    seen.push(e);
    return e;
  };
  app.get('/v1/*', echo);
  app.put('/v1/*', echo);
  app.post('/v1/*', echo);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as net.AddressInfo;
  return { app, port: address.port, seen };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Reads `count` HTTP/1.1 responses (Content-Length framed) from a socket. */
function readResponses(socket: net.Socket, count: number): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const responses: RawResponse[] = [];
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
        }
        const len = Number(headers['content-length'] ?? 0);
        if (buf.length < headEnd + 4 + len) return;
        const body = buf.subarray(headEnd + 4, headEnd + 4 + len).toString('utf8');
        buf = buf.subarray(headEnd + 4 + len);
        responses.push({ status, headers, body });
        if (responses.length === count) {
          socket.off('data', onData);
          resolve(responses);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed after ${responses.length} responses`)));
  });
}

// Chunk boundaries fall inside "LIST" and inside CRLF; one chunk extension; two trailers.
const chunkedBody = [
  '8;ext=LIST\r\nhello\nLI\r\n',
  'F\r\nST /x HTTP/1.1\r\r\n',
  '3\r\n\n\r\n\r\n',
  '3\r\nbye\r\n',
  '0\r\nX-Checksum: abc\r\nX-Note: LIST /y HTTP/1.1\r\n\r\n',
].join('');
const chunkedText = 'hello\nLIST /x HTTP/1.1\r\n\r\nbye';

const putJson = JSON.stringify({ note: 'LIST /x HTTP/1.1', more: '\r\nLIST /y HTTP/1.1\r\n\r\n' });

/** The five pipelined requests of the brief, as one byte string. */
const pipelined = [
  'PUT /v1/secret/data/a HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(putJson)}\r\n\r\n${putJson}`,
  'LIST /v1/secret/metadata/x HTTP/1.1\r\nHost: t\r\n\r\n',
  'POST /v1/sys/echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n' +
    `Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n${chunkedBody}`,
  'LIST /v1/secret/metadata/y?version=2 HTTP/1.1\r\nHost: t\r\n\r\n',
  'GET /v1/secret/data/a HTTP/1.1\r\nHost: t\r\n\r\n',
].join('');

function assertPipelinedResponses(responses: RawResponse[], protocol: string, clientPort: number) {
  assert.equal(responses.length, 5);
  for (const r of responses) {
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers.connection, 'keep-alive');
  }
  const [put, list, post, listQ, get] = responses.map((r) => JSON.parse(r.body) as Echo);
  assert.equal(put!.method, 'PUT');
  assert.equal(put!.path, 'secret/data/a');
  assert.deepEqual(put!.query, {});
  assert.deepEqual(put!.body, JSON.parse(putJson));

  assert.equal(list!.method, 'GET');
  assert.equal(list!.url, '/v1/secret/metadata/x?list=true');
  assert.deepEqual(list!.query, { list: 'true' });
  assert.equal(list!.body, null);

  assert.equal(post!.method, 'POST');
  assert.equal(post!.path, 'sys/echo');
  assert.deepEqual(post!.query, {});
  assert.equal(post!.body, chunkedText);
  assert.equal(post!.trailers['x-checksum'], 'abc');
  assert.equal(post!.trailers['x-note'], 'LIST /y HTTP/1.1');

  assert.equal(listQ!.method, 'GET');
  assert.equal(listQ!.url, '/v1/secret/metadata/y?version=2&list=true');
  assert.deepEqual(listQ!.query, { version: '2', list: 'true' });

  assert.equal(get!.method, 'GET');
  assert.equal(get!.url, '/v1/secret/data/a');
  assert.deepEqual(get!.query, {});

  for (const e of [put, list, post, listQ, get]) {
    assert.equal(e!.protocol, protocol);
    assert.equal(e!.remoteAddress, '127.0.0.1');
    assert.equal(e!.remotePort, clientPort);
  }
}

function connectPlain(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The framer alone

describe('RequestFramer', () => {
  test('adds list=true to the query of a target, before any fragment', () => {
    assert.equal(withListQuery('/v1/a'), '/v1/a?list=true');
    assert.equal(withListQuery('/v1/a?b=1'), '/v1/a?b=1&list=true');
    assert.equal(withListQuery('/v1/a?'), '/v1/a?list=true');
    assert.equal(withListQuery('/v1/a?b=1&'), '/v1/a?b=1&list=true');
    assert.equal(withListQuery('/v1/a#f?x'), '/v1/a?list=true#f?x');
    assert.equal(withListQuery('/v1/a?b#f'), '/v1/a?b&list=true#f');
  });

  test('rewrites LIST request lines into GET with list=true and keeps the rest', () => {
    const input = 'LIST /v1/m HTTP/1.1\r\nHost: x\r\n\r\nLIST /v1/m?a=1 HTTP/1.0\r\n\r\n';
    const { joined, framer } = frame([Buffer.from(input)]);
    assert.equal(
      joined.toString(),
      'GET /v1/m?list=true HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/m?a=1&list=true HTTP/1.0\r\n\r\n',
    );
    assert.equal(framer.passingThrough, false);
  });

  test('forwards a request that needs no rewrite as the very same buffer', () => {
    const chunk = Buffer.from('POST /v1/a HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd');
    const { out } = frame([chunk]);
    assert.equal(out.length, 1);
    assert.equal(out[0], chunk);
  });

  test('forwards body bytes as slices of the input, without copying', () => {
    const head = Buffer.from('PUT /v1/a HTTP/1.1\r\nContent-Length: 12\r\n\r\n');
    const body = Buffer.from('LIST /x HTTP');
    const next = Buffer.from('LIST /y HTTP/1.1\r\n\r\n');
    const second = Buffer.concat([body, next]);
    const { out } = frame([head, second]);
    assert.equal(out[0], head);
    // The body slice shares memory with the chunk it came in.
    const bodyOut = out[1]!;
    assert.equal(bodyOut.toString(), 'LIST /x HTTP');
    assert.equal(bodyOut.buffer, second.buffer);
    assert.equal(bodyOut.byteOffset, second.byteOffset);
    assert.equal(out[2]!.toString(), 'GET /y?list=true HTTP/1.1\r\n');
    assert.equal(out[3]!.toString(), '\r\n');
  });

  test('leaves LIST lines inside Content-Length and chunked bodies alone', () => {
    const input =
      'PUT /a HTTP/1.1\r\nContent-Length: 20\r\n\r\nLIST /x HTTP/1.1\r\n\r\n' +
      'POST /b HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' +
      '14\r\nLIST /y HTTP/1.1\r\n\r\n\r\n0\r\n\r\n' +
      'LIST /z HTTP/1.1\r\n\r\n';
    const { joined } = frame([Buffer.from(input)]);
    assert.equal(joined.toString(), input.replace('LIST /z', 'GET /z?list=true'));
  });

  test('withholds a partial request line until it completes, and flushes it at end of input', () => {
    const out: Buffer[] = [];
    const framer = new RequestFramer((b) => out.push(b));
    framer.write(Buffer.from('LIS'));
    framer.write(Buffer.from('T /a HT'));
    assert.equal(out.length, 0);
    framer.write(Buffer.from('TP/1.1\r\n\r\nGET /b'));
    assert.equal(Buffer.concat(out).toString(), 'GET /a?list=true HTTP/1.1\r\n\r\n');
    framer.end();
    assert.equal(Buffer.concat(out).toString(), 'GET /a?list=true HTTP/1.1\r\n\r\nGET /b');
  });

  test('skips empty lines before a request line', () => {
    const { joined } = frame([Buffer.from('\r\n\r\nLIST /a HTTP/1.1\r\n\r\n')]);
    assert.equal(joined.toString(), '\r\n\r\nGET /a?list=true HTTP/1.1\r\n\r\n');
  });

  const unframeable: Array<[string, string]> = [
    ['a malformed request line', 'LIST /a\r\n\r\n'],
    ['an unknown HTTP version', 'GET /a HTTP/2.0\r\n\r\n'],
    [
      'two Content-Length headers',
      'PUT /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n',
    ],
    ['a non-numeric Content-Length', 'PUT /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\n'],
    [
      'Content-Length with chunked',
      'PUT /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
    ],
    ['a coding after chunked', 'PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
    ['obs-fold', 'GET /a HTTP/1.1\r\nX-A: 1\r\n Content-Length: 5\r\n\r\n'],
    ['space before a colon', 'GET /a HTTP/1.1\r\nContent-Length : 5\r\n\r\n'],
    ['a bad chunk size', 'POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    [
      'chunk data overrunning its size',
      'POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n',
    ],
    ['an upgrade', 'GET /a HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['CONNECT', 'CONNECT host:443 HTTP/1.1\r\n\r\n'],
  ];
  for (const [what, head] of unframeable) {
    test(`passes everything through unchanged after ${what}`, () => {
      const input = Buffer.from(head + 'LIST /x HTTP/1.1\r\n\r\n');
      const { joined, framer } = frame([input]);
      assert.equal(joined.toString(), input.toString());
      assert.equal(framer.passingThrough, true);
    });
  }

  test('passes an overlong request line through instead of buffering without bound', () => {
    const line = `LIST /${'a'.repeat(200)}`;
    const out: Buffer[] = [];
    const framer = new RequestFramer((b) => out.push(b), { maxLineBytes: 64 });
    framer.write(Buffer.from(line));
    assert.equal(framer.passingThrough, true);
    assert.equal(Buffer.concat(out).toString(), line);
  });

  test('property: random request sequences, split anywhere, come out exactly rewritten', () => {
    const tricky = fc.constantFrom(
      'LIST /x HTTP/1.1\r\n',
      'LIST ',
      '\r\n\r\n',
      '\r\n',
      '0\r\n\r\n',
      'GET / HTTP/1.1\r\n',
    );
    const bodyArb = fc
      .array(fc.oneof(tricky, fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 12 })), {
        maxLength: 6,
      })
      .map((parts) =>
        Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))),
      );
    const requestArb = fc.record({
      leadingEmptyLine: fc.boolean(),
      method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'LIST', 'LIST', 'PATCH'),
      path: fc.stringMatching(/^\/[a-z0-9/._-]{0,16}$/),
      query: fc.option(fc.stringMatching(/^[a-z0-9=]{1,10}$/), { nil: undefined }),
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
      extraHeader: fc.constantFrom('', 'X-Note: LIST /x HTTP/1.1\r\n', 'content-length-x: 9\r\n'),
      body: bodyArb,
      framing: fc.constantFrom('length', 'chunked', 'none'),
      chunkSizes: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 8 }),
      chunkExt: fc.boolean(),
      trailer: fc.constantFrom('', 'X-T: LIST /q HTTP/1.1\r\n'),
    });
    fc.assert(
      fc.property(
        fc.array(requestArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 }),
        (requests, splits) => {
          const input: Buffer[] = [];
          const expected: Buffer[] = [];
          for (const r of requests) {
            const target = r.query === undefined ? r.path : `${r.path}?${r.query}`;
            const listTarget =
              r.query === undefined ? `${target}?list=true` : `${target}&list=true`;
            const lead = r.leadingEmptyLine ? '\r\n' : '';
            const line = `${r.method} ${target} ${r.version}\r\n`;
            const outLine = r.method === 'LIST' ? `GET ${listTarget} ${r.version}\r\n` : line;
            let headers = `Host: h\r\n${r.extraHeader}`;
            let body: Buffer;
            const framing = r.body.length === 0 && r.framing === 'none' ? 'none' : r.framing;
            if (framing === 'chunked') {
              headers += 'Transfer-Encoding: chunked\r\n';
              const parts = splitAt(r.body, r.chunkSizes);
              const pieces: Buffer[] = [];
              for (const p of parts) {
                const ext = r.chunkExt ? ';n=LIST' : '';
                pieces.push(
                  Buffer.from(`${p.length.toString(16)}${ext}\r\n`),
                  p,
                  Buffer.from('\r\n'),
                );
              }
              pieces.push(Buffer.from(`0\r\n${r.trailer}\r\n`));
              body = Buffer.concat(pieces);
            } else if (framing === 'length' || r.body.length > 0) {
              headers += `Content-Length: ${r.body.length}\r\n`;
              body = r.body;
            } else {
              body = Buffer.alloc(0);
            }
            const head = `${headers}\r\n`;
            input.push(Buffer.from(lead + line + head, 'latin1'), body);
            expected.push(Buffer.from(lead + outLine + head, 'latin1'), body);
          }
          const { joined, framer } = frame(splitAt(Buffer.concat(input), splits));
          assert.equal(framer.passingThrough, false);
          assert.deepEqual(joined, Buffer.concat(expected));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: input without a LIST request line is never changed, whatever its bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 20 }),
        (bytes, splits) => {
          const input = Buffer.from(bytes);
          fc.pre(!input.includes('LIST '));
          const { joined } = frame(splitAt(input, splits));
          assert.deepEqual(joined, input);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Through fastify, over real sockets

describe('listShimServerFactory over plain HTTP', () => {
  let app: FastifyInstance;
  let port: number;
  let seen: Echo[];
  before(async () => {
    ({ app, port, seen } = await startApp());
  });
  after(async () => {
    await app.close();
  });

  test('listens on the real address that app.server.address() reports', async () => {
    const address = app.server.address() as net.AddressInfo;
    assert.equal(address.address, '127.0.0.1');
    assert.ok(address.port > 0);
    assert.equal(app.server.listening, true);
  });

  test('routes pipelined PUT, LIST, chunked POST, LIST?query and GET on one keep-alive socket', async () => {
    const socket = await connectPlain(port);
    const responses = readResponses(socket, 5);
    socket.write(pipelined);
    assertPipelinedResponses(await responses, 'http', socket.localPort!);
    // The connection is still usable afterwards.
    const again = readResponses(socket, 1);
    socket.write('LIST /v1/z HTTP/1.1\r\nHost: t\r\n\r\n');
    const [r] = await again;
    assert.equal((JSON.parse(r!.body) as Echo).url, '/v1/z?list=true');
    socket.destroy();
  });

  test('routes the same requests when they arrive a few bytes at a time', async () => {
    const socket = await connectPlain(port);
    socket.setNoDelay(true);
    const responses = readResponses(socket, 5);
    const bytes = Buffer.from(pipelined);
    for (let i = 0; i < bytes.length; i += 7) {
      socket.write(bytes.subarray(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    assertPipelinedResponses(await responses, 'http', socket.localPort!);
    socket.destroy();
  });

  test('carries a large body holding LIST lines intact and routes the LIST after it', async () => {
    const unit = 'x\r\nLIST /v1/evil HTTP/1.1\r\n\r\n';
    const big = unit.repeat(Math.ceil((5 * 1024 * 1024) / unit.length));
    const socket = await connectPlain(port);
    const responses = readResponses(socket, 2);
    socket.write(
      `PUT /v1/big HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(big)}\r\n\r\n`,
    );
    socket.write(big);
    socket.write('LIST /v1/after HTTP/1.1\r\nHost: t\r\n\r\n');
    const [put, list] = (await responses).map((r) => JSON.parse(r.body) as Echo);
    assert.equal(put!.method, 'PUT');
    assert.equal(put!.bodyLength, Buffer.byteLength(big));
    assert.equal(put!.bodySha256, createHash('sha256').update(big).digest('hex'));
    assert.equal(list!.url, '/v1/after?list=true');
    assert.ok(!seen.some((e) => e.path === 'evil'));
    socket.destroy();
  });

  test('answers Expect: 100-continue and routes the body sent after it', async () => {
    const socket = await connectPlain(port);
    const body = '{"a":"LIST /x HTTP/1.1"}';
    const cont = new Promise<string>((resolve) =>
      socket.once('data', (d) => resolve(d.toString())),
    );
    socket.write(
      'PUT /v1/cont HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n' +
        `Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    assert.match(await cont, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    const responses = readResponses(socket, 2);
    socket.write(body + 'LIST /v1/cont HTTP/1.1\r\nHost: t\r\n\r\n');
    const [put, list] = (await responses).map((r) => JSON.parse(r.body) as Echo);
    assert.deepEqual(put!.body, { a: 'LIST /x HTTP/1.1' });
    assert.equal(list!.url, '/v1/cont?list=true');
    socket.destroy();
  });

  for (const [what, raw] of [
    ['a malformed request line', 'LIST\r\n\r\n'],
    ['an invalid Content-Length', 'LIST /v1/x HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n'],
  ] as const) {
    test(`lets Node answer 400 and close the connection on ${what}`, async () => {
      const socket = await connectPlain(port);
      let data = '';
      socket.on('data', (d) => {
        data += d;
      });
      const closed = new Promise((r) => socket.once('close', r));
      socket.write(raw);
      await closed;
      assert.match(data, /^HTTP\/1\.1 400 Bad Request\r\n/);
    });
  }

  test('routes curl -X LIST as a list request', async () => {
    const { stdout } = await execFileAsync('curl', [
      '-sS',
      '-X',
      'LIST',
      `http://127.0.0.1:${port}/v1/x`,
    ]);
    const e = JSON.parse(stdout) as Echo;
    assert.equal(e.method, 'GET');
    assert.equal(e.url, '/v1/x?list=true');
    assert.deepEqual(e.query, { list: 'true' });
  });

  test("routes node-vault's vault.list() as GET with list=true", async () => {
    const vault = nodeVault({ endpoint: `http://127.0.0.1:${port}`, token: 'test-token' });
    const before = seen.length;
    const res = (await vault.list('secret/metadata/foo')) as Echo;
    assert.deepEqual(res.data, { keys: ['a'] });
    const got = seen.slice(before);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.method, 'GET');
    assert.equal(got[0]!.url, '/v1/secret/metadata/foo?list=true');
    assert.equal(got[0]!.query.list, 'true');
  });
});

describe('listShimServerFactory over TLS', () => {
  let app: FastifyInstance;
  let port: number;
  let dir: string;
  let cert: Buffer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keep-list-shim-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'));
    ({ app, port } = await startApp({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } }));
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('routes pipelined PUT, LIST, chunked POST, LIST?query and GET on one TLS socket', async () => {
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca: cert }, () => resolve(s));
      s.once('error', reject);
    });
    assert.equal(socket.authorized, true);
    const responses = readResponses(socket, 5);
    socket.write(pipelined);
    assertPipelinedResponses(await responses, 'https', socket.localPort!);
    socket.destroy();
  });

  test('routes curl -X LIST over https as a list request', async () => {
    const { stdout } = await execFileAsync('curl', [
      '-sS',
      '--cacert',
      join(dir, 'cert.pem'),
      '-X',
      'LIST',
      `https://127.0.0.1:${port}/v1/tls?x=1`,
    ]);
    const e = JSON.parse(stdout) as Echo;
    assert.equal(e.method, 'GET');
    assert.equal(e.protocol, 'https');
    assert.deepEqual(e.query, { x: '1', list: 'true' });
  });
});

describe('closing', () => {
  test('app.close() closes the listening socket and idle keep-alive connections', async () => {
    const { app, port } = await startApp();
    const socket = await connectPlain(port);
    const responses = readResponses(socket, 1);
    socket.write('LIST /v1/a HTTP/1.1\r\nHost: t\r\n\r\n');
    assert.equal((await responses)[0]!.status, 200);
    const clientClosed = new Promise((r) => socket.once('close', r));

    await app.close();
    await clientClosed; // the idle keep-alive connection was closed by the server
    assert.equal(app.server.listening, false);
    await assert.rejects(connectPlain(port), { code: 'ECONNREFUSED' });
  });

  test('listen on localhost works and app.close() releases it', async () => {
    const app = Fastify({ serverFactory: listShimServerFactory() });
    app.get('/v1/*', async (req) => ({ url: req.url }));
    await app.listen({ port: 0 });
    const { port } = app.server.address() as net.AddressInfo;
    const { stdout } = await execFileAsync('curl', [
      '-sS',
      '-X',
      'LIST',
      `http://localhost:${port}/v1/l`,
    ]);
    assert.deepEqual(JSON.parse(stdout), { url: '/v1/l?list=true' });
    await app.close();
    assert.equal(app.server.listening, false);
  });

  test('a client that disconnects mid-request leaves no wrapped socket behind', async () => {
    const { app, port } = await startApp();
    const wrapped: ListShimSocket[] = [];
    app.server.prependListener('request', (req) =>
      wrapped.push(req.socket as unknown as ListShimSocket),
    );
    const socket = await connectPlain(port);
    const responses = readResponses(socket, 1);
    socket.write(
      'GET /v1/a HTTP/1.1\r\nHost: t\r\n\r\nPUT /v1/b HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab',
    );
    await responses;
    const w = wrapped[0]!;
    assert.ok(w instanceof ListShimSocket);
    // The server is still waiting for the rest of the PUT body.
    assert.equal(w.destroyed, false);
    const wrapperClosed = new Promise((r) => w.once('close', r));
    socket.destroy();
    await wrapperClosed;
    assert.equal(w.destroyed, true);
    assert.equal(w.raw.destroyed, true);
    if (!w.raw.closed) await new Promise((r) => w.raw.once('close', r));
    const connections = await new Promise<number>((resolve, reject) =>
      app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
    assert.equal(connections, 0);
    await app.close();
  });
});
