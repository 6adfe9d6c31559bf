// Ceiling H (framework): a bare Fastify route with fastify's own server, no
// LIST shim and no Keep code. Same answers as node-http.mjs.
import Fastify from 'fastify';
import { readBody, writeBody } from './payload.mjs';

const app = Fastify({ logger: false });
app.route({
  method: ['GET', 'POST', 'PUT'],
  url: '/v1/*',
  handler: (req, reply) =>
    reply
      .header('content-type', 'application/json')
      .header('cache-control', 'no-store')
      .send(req.method === 'GET' ? readBody() : writeBody(req.body)),
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
