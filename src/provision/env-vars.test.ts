import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDropUrl } from './drop.ts';
import {
  checkName,
  conflictMessage,
  conventionLayout,
  isShellName,
  type Layer,
  mergeLayers,
  relativeKey,
  renderEnv,
  varName,
} from './env-vars.ts';
import { checkedCidrList, servicePolicy } from './provision.ts';

const plain = { sanitize: false, upcase: false };

describe('keep env naming and merging', () => {
  it('lays out the convention lowest precedence first', () => {
    assert.deepEqual(conventionLayout('checkout', 'production'), {
      secrets: [
        { mount: 'secret', path: 'checkout/global' },
        { mount: 'secret', path: 'checkout/production' },
      ],
      configPrefixes: ['global/', 'checkout/global/', 'checkout/production/'],
    });
  });

  it('names keys relative to their prefix, skipping the prefix itself and folders', () => {
    assert.equal(relativeKey('a/b/', 'a/b/db/host'), 'db/host');
    assert.equal(relativeKey('a/b/', 'a/b/'), undefined);
    assert.equal(relativeKey('a/b/', 'a/b/folder/'), undefined);
    assert.equal(relativeKey('a/b/', 'a/c/x'), undefined);
  });

  it('keeps names unchanged unless -sanitize or -upcase', () => {
    assert.equal(varName('db/host-name.x', plain), 'db/host-name.x');
    assert.equal(varName('db/host-name.x', { sanitize: true, upcase: false }), 'db_host_name_x');
    assert.equal(varName('db/host', { sanitize: true, upcase: true }), 'DB_HOST');
    assert.equal(varName('Mixed', { sanitize: false, upcase: true }), 'MIXED');
  });

  it('sanitized names are always shell names unless empty or starting with a digit', () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const name = varName(key, { sanitize: true, upcase: false });
        assert.match(name, /^[A-Za-z0-9_]*$/);
        assert.equal(name.length, key.length);
      }),
    );
  });

  it('merges global < service-global < service-env, and a secret beats config', () => {
    const layers: Layer[] = [
      // Out of order on purpose: secrets go after config whatever the input order.
      { kind: 'secret', source: 'secret/s/global', values: { PASS: 'pass-g', ONLY_G: '1' } },
      { kind: 'secret', source: 'secret/s/e', values: { PASS: 'pass-e' } },
      {
        kind: 'config',
        source: 'config global/',
        values: { LEVEL: 'info', PASS: 'pass-c', A: 'g' },
      },
      { kind: 'config', source: 'config s/global/', values: { LEVEL: 'debug' } },
      { kind: 'config', source: 'config s/e/', values: { A: 'e' } },
    ];
    const m = mergeLayers(layers, plain);
    assert.deepEqual(m.vars, { LEVEL: 'debug', PASS: 'pass-e', A: 'e', ONLY_G: '1' });
    assert.equal(m.origin.PASS, 'secret/s/e');
    assert.equal(m.origin.LEVEL, 'config s/global/');
    assert.deepEqual(m.conflicts, [
      { name: 'PASS', secret: 'secret/s/e', config: 'config global/' },
    ]);
    const line = conflictMessage(m.conflicts[0]!);
    assert.match(line, /PASS/);
    assert.doesNotMatch(line, /pass-/);
  });

  it('reports a conflict created by renaming, never a value', () => {
    const m = mergeLayers(
      [
        { kind: 'config', source: 'config s/e/', values: { 'db/host': 'cfg-host-value' } },
        { kind: 'secret', source: 'secret/s/e', values: { DB_HOST: 'secret-host-value' } },
      ],
      { sanitize: true, upcase: true },
    );
    assert.equal(m.vars.DB_HOST, 'secret-host-value');
    assert.equal(m.conflicts.length, 1);
    assert.doesNotMatch(conflictMessage(m.conflicts[0]!), /value/);
  });

  it('renders dotenv, shell and json that read back to the same values', () => {
    const vars = { A: "it's", B: 'line\nbreak "q" $HOME \\' };
    assert.equal(
      renderEnv(vars, 'shell'),
      `export A='it'\\''s'\nexport B='line\nbreak "q" $HOME \\'\n`,
    );
    assert.equal(renderEnv(vars, 'dotenv'), 'A="it\'s"\nB="line\\nbreak \\"q\\" \\$HOME \\\\"\n');
    assert.deepEqual(JSON.parse(renderEnv(vars, 'json')), vars);
    assert.ok(isShellName('_A1'));
    assert.ok(!isShellName('1A'));
    assert.ok(!isShellName('db/host'));
  });

  it('checks service, environment and workload names', () => {
    assert.equal(checkName('-service', 'checkout'), undefined);
    assert.match(checkName('-service', '') ?? '', /required/);
    assert.match(checkName('-service', 'a/b') ?? '', /not a valid name/);
    assert.match(checkName('-env', '..') ?? '', /not a valid name/);
  });
});

describe('keep provision pure parts', () => {
  it('writes a policy granting read on exactly the convention paths', () => {
    const hcl = servicePolicy('checkout', 'production');
    const paths = [...hcl.matchAll(/path "([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(paths, [
      'secret/data/checkout/global',
      'secret/data/checkout/production',
      'config/global/*',
      'config/checkout/global/*',
      'config/checkout/production/*',
    ]);
    assert.doesNotMatch(hcl, /create|update|delete|sudo/);
  });

  it('parses drop URLs and refuses others', () => {
    assert.deepEqual(parseDropUrl('file:///var/drop/'), { kind: 'file', dir: '/var/drop' });
    assert.deepEqual(parseDropUrl('s3://bucket/a/b/'), {
      kind: 's3',
      bucket: 'bucket',
      prefix: 'a/b',
    });
    for (const bad of ['ftp://x/y', '/plain/path', 'file://host/x', 's3:///nobucket', 'nonsense']) {
      assert.throws(() => parseDropUrl(bad), /invalid drop URL/, bad);
    }
  });

  it('checks CIDRs', () => {
    assert.deepEqual(checkedCidrList(['10.0.0.0/8,127.0.0.1/32', ' ']), [
      '10.0.0.0/8',
      '127.0.0.1/32',
    ]);
    assert.throws(() => checkedCidrList(['10.0.0.0/99']), /invalid -cidr/);
  });
});
