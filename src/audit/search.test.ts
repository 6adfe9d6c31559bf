import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileQuery, pathGlob, searchFile } from './search.ts';

const lines = [
  {
    time: '2026-01-01T10:00:00Z',
    type: 'request',
    auth: { accessor: 'hmac-sha256:acc1', display_name: 'alice' },
    request: { operation: 'read', path: 'secret/data/app/db', remote_address: '10.0.0.1' },
  },
  {
    time: '2026-01-01T10:00:01Z',
    type: 'response',
    auth: { accessor: 'hmac-sha256:acc1', display_name: 'alice' },
    request: { operation: 'read', path: 'secret/data/app/db', remote_address: '10.0.0.1' },
    response: { status: 200, data: { data: { password: 'hmac-sha256:pw' } } },
  },
  {
    time: '2026-01-02T10:00:00Z',
    type: 'response',
    auth: { accessor: 'hmac-sha256:acc2', display_name: 'bob' },
    request: {
      operation: 'update',
      path: 'secret/data/web/tls',
      remote_address: '10.0.0.2',
      data: { data: { key: 'hmac-sha256:other' } },
    },
    response: { status: 200 },
  },
  {
    time: '2026-01-02T10:30:00Z',
    type: 'request',
    request: {
      operation: 'update',
      path: 'sys/audit-hash/file',
      data: { input: 'hmac-sha256:pw' },
    },
  },
  { time: '2026-01-02T11:00:00Z', type: 'probe' },
];

describe('audit search', () => {
  const run = (q: Parameters<typeof compileQuery>[0]) =>
    lines.filter(compileQuery(q)).map((l) => `${l.type}@${l.time}`);

  it('matches by path glob, operation, accessor, address, status, time and HMAC’d value', () => {
    assert.equal(run({ path: 'secret/data/+/db' }).length, 2);
    assert.equal(run({ path: 'secret/data/*' }).length, 3);
    assert.equal(run({ path: 'sys/*' }).length, 1);
    assert.equal(run({ path: 'secret/data/app' }).length, 0);
    assert.deepEqual(run({ operation: 'update', path: 'secret/*' }), [
      'response@2026-01-02T10:00:00Z',
    ]);
    assert.equal(run({ accessors: ['hmac-sha256:acc1'] }).length, 2);
    assert.equal(run({ remoteAddress: '10.0.0.2' }).length, 1);
    assert.equal(run({ status: 200 }).length, 2);
    assert.equal(run({ type: 'request' }).length, 2);
    assert.equal(run({ since: new Date('2026-01-02T00:00:00Z') }).length, 2);
    assert.equal(run({ until: new Date('2026-01-01T10:00:00Z') }).length, 1);
    assert.deepEqual(run({ values: ['hmac-sha256:pw'] }), ['response@2026-01-01T10:00:01Z']);
    assert.deepEqual(run({ values: ['hmac-sha256:other'] }), ['response@2026-01-02T10:00:00Z']);
    assert.equal(run({}).length, 4, 'probe lines are never results');
  });

  it('escapes regular-expression characters in path globs', () => {
    assert.equal(pathGlob('a.b/c').test('aXb/c'), false);
    assert.equal(pathGlob('a.b/c').test('a.b/c'), true);
  });

  it('streams a file, skipping a device prefix and counting unparsable lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keep-search-'));
    try {
      const file = join(dir, 'audit.log');
      const text = lines.map((l) => `keep: ${JSON.stringify(l)}`).join('\n');
      writeFileSync(file, `${text}\nnot json\n`);
      const stats = { scanned: 0, unparsable: 0 };
      const found = [];
      for await (const l of searchFile(file, compileQuery({ operation: 'read' }), stats)) {
        found.push(l);
      }
      assert.equal(found.length, 2);
      assert.deepEqual(stats, { scanned: 6, unparsable: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
