/**
 * `keep config ...` against a real server's config listener: put, get,
 * list, delete, history with authors, a rollback of a prefix, and watch
 * woken by a write; exit codes as the CLI's others (2: the server said no).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { tokenWithPolicy } from './helpers/consul-kit.ts';
import { KEEP_BIN, type KeepProcess, startDevKeep, tempDir } from './helpers/keep-server.ts';

const ROOT = 'consul-cli-root';

describe('keep config against the Consul listener', () => {
  let server: KeepProcess;
  let reader: string;
  const home = tempDir();

  function keep(
    args: string[],
    opts: { token?: string; stdin?: string } = {},
  ): Promise<{ code: number | null; out: string; err: string }> {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      KEEP_ADDR: server.addr,
      KEEP_CONFIG_ADDR: server.consulAddr!.replace('http://', ''),
      KEEP_TOKEN: opts.token ?? ROOT,
    };
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [KEEP_BIN, ...args], { cwd: home, env });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => {
        out += c;
      });
      child.stderr.on('data', (c) => {
        err += c;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
      child.stdin.end(opts.stdin ?? '');
    });
  }

  before(async () => {
    server = await startDevKeep(ROOT);
    ({ token: reader } = await tokenWithPolicy(
      server,
      ROOT,
      'cli-reader',
      'path "config/*" { capabilities = ["read", "list"] }',
    ));
  });

  after(async () => {
    await server?.stop();
  });

  it('puts, gets, lists and deletes', async () => {
    assert.deepEqual(await keep(['config', 'put', 'svc/api/url', 'https://api.internal']), {
      code: 0,
      out: 'Success! Data written to: svc/api/url\n',
      err: '',
    });
    assert.equal((await keep(['config', 'put', 'svc/api/timeout', '-'], { stdin: '30s' })).code, 0);
    assert.equal((await keep(['config', 'put', '-flags=9', 'svc/mode', 'blue'])).code, 0);
    assert.equal((await keep(['config', 'get', 'svc/api/url'])).out, 'https://api.internal');
    const json = JSON.parse((await keep(['config', 'get', '-format=json', 'svc/mode'])).out);
    assert.equal(json.Value, 'blue');
    assert.equal(json.Flags, 9);
    assert.equal((await keep(['config', 'list', 'svc/'])).out, 'Keys\n----\napi/\nmode\n');
    const refused = await keep(['config', 'put', '-cas=0', 'svc/mode', 'green']);
    assert.equal(refused.code, 2);
    assert.equal((await keep(['config', 'delete', 'svc/mode'])).code, 0);
    const missing = await keep(['config', 'get', 'svc/mode']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /No value found at svc\/mode/);
  });

  it('refuses with exit code 2 and the server reason when the token may not write', async () => {
    const res = await keep(['config', 'put', 'svc/api/url', 'x'], { token: reader });
    assert.equal(res.code, 2);
    assert.match(res.err, /Code: 403/);
    assert.match(res.err, /lacks permission 'key:write' on "svc\/api\/url"/);
    assert.ok(!res.err.includes(reader), 'the token is not echoed');
  });

  it('shows history with authors and rolls a prefix back to a time', async () => {
    await keep(['config', 'put', 'svc/api/url', 'https://api-v2.internal']);
    const history = await keep(['config', 'history', 'svc/api/url']);
    assert.equal(history.code, 0, history.err);
    const lines = history.out.trim().split('\n');
    assert.match(lines[0]!, /Time\s+Key\s+Action\s+Author/);
    assert.match(
      lines[2]!,
      /svc\/api\/url\s+update\s+root\s.*https:\/\/api\.internal\s+https:\/\/api-v2\.internal/,
    );
    assert.match(lines[3]!, /create/);

    const entries = JSON.parse(
      (await keep(['config', 'history', '-format=json', 'svc/api/url'])).out,
    );
    const firstWrite = entries.at(-1).time as string;
    const rolled = await keep(['config', 'rollback', '-recurse', `-to=${firstWrite}`, 'svc/api/']);
    assert.equal(rolled.code, 0, rolled.err);
    assert.match(
      rolled.out,
      /Rolled back: svc\/api\/timeout, svc\/api\/url|Rolled back: svc\/api\/url/,
    );
    assert.equal((await keep(['config', 'get', 'svc/api/url'])).out, 'https://api.internal');
    const search = JSON.parse(
      (await keep(['config', 'history', '-format=json', '-prefix=svc/api/', '-limit=1'])).out,
    );
    assert.equal(search[0].cause, 'rollback');
  });

  it('watches a key and prints each new value', async () => {
    await keep(['config', 'put', 'svc/flag', 'off']);
    const watching = keep(['config', 'watch', '-count=2', '-wait=10s', 'svc/flag']);
    await new Promise((r) => setTimeout(r, 700));
    await keep(['config', 'put', 'svc/flag', 'on']);
    const res = await watching;
    assert.equal(res.code, 0, res.err);
    assert.equal(res.out, 'off\non\n');
  });
});
