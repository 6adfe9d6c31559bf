/**
 * The config parser, fuzzed: any HCL or JSON text, however broken or oddly
 * typed, parses or fails with a plain `Error` whose message names the fault,
 * never a TypeError, a RangeError or a thrown non-Error that would reach the
 * operator as a stack trace.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deeplyNested, fuzz, mutatedText } from '../../test/helpers/fuzz.ts';
import { parseServerConfig } from './server-config.ts';

const KEYS = [
  'storage',
  'backend',
  'listener',
  'config_listener',
  'telemetry',
  'backup',
  'api_addr',
  'cluster_addr',
  'disable_clustering',
  'ui',
  'log_level',
  'default_lease_ttl',
  'max_lease_ttl',
  'disable_mlock',
  'address',
  'cluster_address',
  'tls_disable',
  'tls_cert_file',
  'tls_key_file',
  'tls_pki_mount',
  'tls_pki_role',
  'tls_pki_common_name',
  'max_request_size',
  'x_forwarded_for_authorized_addrs',
  'unauthenticated_metrics_access',
  'prometheus_retention_time',
  'disable_hostname',
  'statsd_address',
  'kv_max_value_size',
  'txn_max_req_len',
  'session_ttl_min',
  'history_max_entries',
  'history_max_age',
  'history_hash_prefixes',
  'path',
  'interval',
  'retain',
  'tcp',
  'sqlite',
  'inmem',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];

const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

const scalar = fc.oneof(
  fc.constantFrom(
    '768h',
    '30m',
    '-1',
    '-5s',
    '1e999',
    '0x10',
    '99999999999999999999',
    '9007199254740993',
    'true',
    'T',
    '1',
    '',
    ' ',
    '127.0.0.1:8200',
    '[::1]:8200',
    '[::1:8200',
    ':99999',
    'http://keep:8200',
    'javascript:alert(1)',
    '10.0.0.0/8, 192.168.1.1',
    '10.0.0.0/33',
    '::/129',
    'warning',
    'TRACE',
    '\u0000',
    'hasOwnProperty',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
);

type Value = unknown;
const { value } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));

/** A document that reaches deep into the parser: the required blocks, then anything. */
const shapedDoc = fc
  .record({
    storageLabel: fc.oneof(fc.constantFrom('inmem', 'sqlite', 'etcd', 'postgresql'), key),
    storage: fc.dictionary(key, value, { maxKeys: 3 }),
    listenerLabel: fc.oneof(fc.constant('tcp'), key),
    listener: fc.dictionary(key, value, { maxKeys: 6 }),
    tlsDisable: fc.oneof(fc.constant(true), value),
    configListener: fc.option(fc.dictionary(key, value, { maxKeys: 6 })),
    top: fc.dictionary(key, value, { maxKeys: 6 }),
  })
  .map((d) => {
    const doc: Record<string, unknown> = {
      storage: { [d.storageLabel]: d.storage },
      listener: { [d.listenerLabel]: { tls_disable: d.tlsDisable, ...d.listener } },
    };
    if (d.configListener) doc.config_listener = { tcp: d.configListener };
    return Object.assign(doc, d.top);
  });

/** HCL for a decoded document; odd values make odd (often invalid) HCL, which is the point. */
function toHcl(doc: unknown, indent = ''): string {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return '';
  let out = '';
  for (const [k, v] of Object.entries(doc)) {
    const name = /^[A-Za-z_][\w-]*$/.test(k) ? k : JSON.stringify(k);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      out += `${indent}${name} {\n${toHcl(v, `${indent}  `)}${indent}}\n`;
    } else {
      out += `${indent}${name} = ${hclValue(v)}\n`;
    }
  }
  return out;
}

function hclValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(hclValue).join(', ')}]`;
  if (typeof v === 'object' && v !== null) return `{ ${toHcl(v).replace(/\n/g, ' ')} }`;
  return JSON.stringify(v) ?? 'null';
}

const VALID_HCL = `storage "sqlite" {
  path = "/var/lib/keep"
}
listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
  x_forwarded_for_authorized_addrs = "10.0.0.0/8"
  telemetry { unauthenticated_metrics_access = true }
}
config_listener "tcp" {
  address = "127.0.0.1:8500"
  history_hash_prefixes = ["credentials/"]
}
telemetry { prometheus_retention_time = "24h" }
backup { path = "/var/backups/keep" }
api_addr = "https://keep.internal:8200"
default_lease_ttl = "768h"
max_lease_ttl = "768h"
`;

/** A valid file with characters deleted, inserted or replaced. */
const mutatedHcl = mutatedText(VALID_HCL, 4, [
  '',
  '"',
  '{',
  '}',
  '[',
  ']',
  '=',
  '\n',
  '#',
  '/*',
  '<<EOF\n',
  '\\',
  '${',
  '\0',
  'ü',
  '-',
  '1',
]);

const deep = deeplyNested(['{', '[', 'a {', '{"a":', 'a = [']);

function parsesOrFailsCleanly(text: string, format: 'hcl' | 'json'): void {
  let parsed: ReturnType<typeof parseServerConfig>;
  try {
    parsed = parseServerConfig(text, format);
  } catch (err) {
    assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
    assert.equal(
      err.constructor,
      Error,
      `threw a ${err.constructor.name}, not a plain Error: ${err.message}`,
    );
    assert.equal(typeof err.message, 'string');
    assert.ok(err.message.trim().length > 0, 'the error has a message');
    return;
  }
  assert.ok(parsed.config.listeners.length > 0);
  assert.ok(Array.isArray(parsed.warnings));
}

const STACK_TRACE_LIMIT = Error.stackTraceLimit;

describe('parseServerConfig, fuzzed', () => {
  it('loading the HCL parser leaves Error.stackTraceLimit as it was', () => {
    // GopherJS sets it to Infinity; a deeply nested document then took ~700 ms to refuse.
    parsesOrFailsCleanly('a {'.repeat(3000), 'hcl');
    assert.equal(Error.stackTraceLimit, STACK_TRACE_LIMIT);
  });

  it('JSON documents of any shape parse or fail with a clean Error', async () => {
    await fuzz(
      fc.property(fc.oneof(shapedDoc, value), (doc) => {
        parsesOrFailsCleanly(JSON.stringify(doc) ?? '', 'json');
      }),
      2000,
    );
  });

  it('HCL documents of any shape parse or fail with a clean Error', async () => {
    await fuzz(
      fc.property(shapedDoc, (doc) => {
        parsesOrFailsCleanly(toHcl(doc), 'hcl');
      }),
      2000,
    );
  });

  it('broken and arbitrary text fails with a clean Error, in either format', async () => {
    await fuzz(
      fc.property(
        fc.oneof(
          mutatedHcl,
          deep,
          fc.string({ maxLength: 200 }),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.json(),
        ),
        fc.constantFrom('hcl' as const, 'json' as const),
        (text, format) => parsesOrFailsCleanly(text, format),
      ),
      2000,
    );
  });
});
