/**
 * Test support: a tiny HTTP server that records each request and answers
 * from a handler, for checking the requests the CLI sends. It knows nothing
 * of Vault's semantics; end-to-end behaviour is tested against the real server.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliIO } from '../io.ts';

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/secret/data/app`. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface StubAnswer {
  status?: number;
  body?: unknown;
}

export type StubHandler = (req: RecordedRequest) => StubAnswer | undefined;

export interface Stub {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts the stub on a free loopback port. Unhandled requests get Vault's empty 404. */
export async function startStub(handler: StubHandler): Promise<Stub> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stub');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
    requests.push(recorded);

    const answer = handler(recorded) ?? { status: 404, body: { errors: [] } };
    const status = answer.status ?? 200;
    if (answer.body === undefined) {
      res.writeHead(status === 200 ? 204 : status).end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface CapturedIO extends CliIO {
  out: string;
  err: string;
}

/** An IO with captured output, a scripted stdin and no terminal unless asked. */
export function captureIO(opts: {
  env?: Record<string, string | undefined>;
  stdin?: string;
  stdinIsTTY?: boolean;
  stdoutIsTTY?: boolean;
  secret?: string;
}): CapturedIO {
  const io: CapturedIO = {
    out: '',
    err: '',
    stdout(text) {
      io.out += text;
    },
    stderr(text) {
      io.err += text;
    },
    readStdin: async () => opts.stdin ?? '',
    readSecret: async () => opts.secret ?? '',
    stdinIsTTY: opts.stdinIsTTY ?? false,
    stdoutIsTTY: opts.stdoutIsTTY ?? false,
    env: opts.env ?? {},
  };
  return io;
}
