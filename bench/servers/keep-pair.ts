/**
 * One Keep API (one Core, one fastify instance, Keep's routes) served on two
 * loopback ports: through Keep's listener with the LIST-verb shim, and
 * through a plain http.Server given the same fastify request handler. The
 * only difference between the ports is the shim, which is what the
 * `list-verb` scenario compares.
 *
 * Usage: node --import tsx bench/servers/keep-pair.ts <data-dir>
 * Prints one JSON line {"shim":port,"plain":port,"token":"..."} when ready.
 */
import http from 'node:http';
import { defaultServerConfig } from '../../src/config/server-config.ts';
import { buildApiServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/run.ts';
import { BENCH_POLICY, benchPolicyHcl } from '../lib/dataset.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: keep-pair.ts <data-dir>');

const config = defaultServerConfig();
config.storage = { type: 'sqlite', options: { path: dir } };
config.listeners[0]!.address = '127.0.0.1:0';
// The Consul face is not measured here; leave port 8500 alone.
delete config.configListener;
const server = await startServer({
  config,
  dev: { rootTokenId: 'bench-root' },
  logger: createLogger({ level: 'warn' }),
});

const app = buildApiServer(server.core);
await app.listen({ host: '127.0.0.1', port: 0 });
const handler = app.server.listeners('request')[0] as http.RequestListener;
const plain = http.createServer(handler);
// fastify's defaults for servers it makes itself.
plain.keepAliveTimeout = 72_000;
plain.requestTimeout = 0;
await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));

const portOf = (s: http.Server) => {
  const a = s.address();
  return typeof a === 'object' && a ? a.port : 0;
};
const shimPort = portOf(app.server);
const base = `http://127.0.0.1:${shimPort}/v1`;
const root = { 'X-Vault-Token': 'bench-root' };

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}/${path}`, {
    method,
    headers: root,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

await call('PUT', `sys/policies/acl/${BENCH_POLICY}`, { policy: benchPolicyHcl() });
for (let i = 0; i < 100; i++) {
  await call('POST', `secret/data/bench/list/item-${i}`, { data: { value: `v${i}` } });
  if (i < 10) await call('POST', `secret/data/bench/k${i}`, { data: { value: `v${i}` } });
}
const created = (await call('POST', 'auth/token/create', {
  policies: [BENCH_POLICY],
  no_default_policy: true,
})) as { auth: { client_token: string } };

process.stdout.write(
  `${JSON.stringify({ shim: shimPort, plain: portOf(plain), token: created.auth.client_token })}\n`,
);

process.once('SIGTERM', async () => {
  plain.close();
  await app.close();
  await server.close();
  process.exit(0);
});
