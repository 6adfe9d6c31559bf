// Ceiling H: a bare node:http JSON route, no framework and no Keep code.
// Answers every GET with a KV-read-sized JSON body and every POST/PUT with a
// write answer after parsing the JSON body. Prints {"port":N} when listening
// (on $PORT when set, which the start-up ceiling uses).
import http from 'node:http';
import { readBody, writeBody } from './payload.mjs';

const server = http.createServer((req, res) => {
  const send = (body) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  if (req.method === 'GET') {
    send(readBody());
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let parsed;
    try {
      parsed = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      res.writeHead(400).end();
      return;
    }
    send(writeBody(parsed));
  });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
