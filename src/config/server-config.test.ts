import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  defaultServerConfig,
  loadServerConfig,
  parseServerConfig,
  type ServerConfig,
} from './server-config.ts';

const MINIMAL = `
storage "inmem" {}
listener "tcp" { tls_disable = true }
`;

function parseHcl(text: string) {
  return parseServerConfig(text, 'hcl');
}

describe('parseServerConfig', () => {
  const hcl = `
    storage "sqlite" {
      path = "/var/lib/keep"
    }

    listener "tcp" {
      address = "0.0.0.0:8200"
      cluster_address = "0.0.0.0:8201"
      tls_cert_file = "/etc/keep/tls.crt"
      tls_key_file = "/etc/keep/tls.key"
      x_forwarded_for_authorized_addrs = "10.0.0.0/8, 192.168.1.1"
      max_request_size = 1048576
      telemetry {
        unauthenticated_metrics_access = true
      }
    }

    listener "tcp" {
      address = "127.0.0.1:8210"
      tls_disable = "true"
    }

    config_listener "tcp" {
      address = "127.0.0.1:8500"
    }

    api_addr = "https://keep.example.com:8200"
    cluster_addr = "https://keep-1.internal:8201"
    ui = true
    log_level = "Debug"
    default_lease_ttl = "1h"
    max_lease_ttl = "720h"

    telemetry {
      prometheus_retention_time = "24h"
      disable_hostname = true
    }

    backup {
      schedule = "@daily"
      target "s3" {
        bucket = "keep-snapshots"
      }
    }
  `;
  const json = JSON.stringify({
    storage: { sqlite: { path: '/var/lib/keep' } },
    listener: [
      {
        tcp: {
          address: '0.0.0.0:8200',
          cluster_address: '0.0.0.0:8201',
          tls_cert_file: '/etc/keep/tls.crt',
          tls_key_file: '/etc/keep/tls.key',
          x_forwarded_for_authorized_addrs: ['10.0.0.0/8', '192.168.1.1'],
          max_request_size: '1048576',
          telemetry: { unauthenticated_metrics_access: 'true' },
        },
      },
      { tcp: { address: '127.0.0.1:8210', tls_disable: true } },
    ],
    config_listener: { tcp: { address: '127.0.0.1:8500' } },
    api_addr: 'https://keep.example.com:8200',
    cluster_addr: 'https://keep-1.internal:8201',
    ui: 'true',
    log_level: 'debug',
    default_lease_ttl: 3600,
    max_lease_ttl: '720h',
    telemetry: { prometheus_retention_time: '24h', disable_hostname: true },
    backup: { schedule: '@daily', target: { s3: { bucket: 'keep-snapshots' } } },
  });

  const expected: ServerConfig = {
    storage: { type: 'sqlite', options: { path: '/var/lib/keep' } },
    listeners: [
      {
        type: 'tcp',
        address: '0.0.0.0:8200',
        clusterAddress: '0.0.0.0:8201',
        tlsDisable: false,
        tlsCertFile: '/etc/keep/tls.crt',
        tlsKeyFile: '/etc/keep/tls.key',
        xForwardedForAuthorizedAddrs: ['10.0.0.0/8', '192.168.1.1'],
        maxRequestSize: 1048576,
        telemetry: { unauthenticatedMetricsAccess: true },
      },
      {
        type: 'tcp',
        address: '127.0.0.1:8210',
        tlsDisable: true,
        xForwardedForAuthorizedAddrs: [],
        maxRequestSize: 32 * 1024 * 1024,
        telemetry: { unauthenticatedMetricsAccess: false },
      },
    ],
    configListener: { type: 'tcp', address: '127.0.0.1:8500' },
    apiAddr: 'https://keep.example.com:8200',
    clusterAddr: 'https://keep-1.internal:8201',
    ui: true,
    logLevel: 'debug',
    defaultLeaseTtlSeconds: 3600,
    maxLeaseTtlSeconds: 720 * 3600,
    telemetry: { prometheusRetentionSeconds: 24 * 3600, disableHostname: true },
    backup: { schedule: '@daily', target: { s3: { bucket: 'keep-snapshots' } } },
  };

  test('reads a full HCL config into the typed shape, both listeners in order', () => {
    const { config, warnings } = parseHcl(hcl);
    assert.deepEqual(config, expected);
    assert.deepEqual(warnings, []);
  });

  test('reads the equivalent JSON config to the same thing', () => {
    const { config, warnings } = parseServerConfig(json, 'json');
    assert.deepEqual(config, expected);
    assert.deepEqual(warnings, []);
  });

  test('fills Vault defaults for what a minimal config leaves out', () => {
    const { config } = parseHcl(MINIMAL);
    assert.deepEqual(config, {
      storage: { type: 'inmem', options: {} },
      listeners: [
        {
          type: 'tcp',
          address: '127.0.0.1:8200',
          tlsDisable: true,
          xForwardedForAuthorizedAddrs: [],
          maxRequestSize: 32 * 1024 * 1024,
          telemetry: { unauthenticatedMetricsAccess: false },
        },
      ],
      ui: false,
      logLevel: 'info',
      defaultLeaseTtlSeconds: 768 * 3600,
      maxLeaseTtlSeconds: 768 * 3600,
    });
  });

  test('accepts backend as the older name for storage', () => {
    const { config } = parseHcl(
      'backend "sqlite" { path = "x" }\nlistener "tcp" { tls_disable = 1 }',
    );
    assert.deepEqual(config.storage, { type: 'sqlite', options: { path: 'x' } });
  });

  test('takes Go boolean spellings where Vault takes a boolean', () => {
    for (const [written, value] of [
      ['"true"', true],
      ['"1"', true],
      ['"T"', true],
      ['1', true],
      ['"false"', false],
      ['"0"', false],
      ['"F"', false],
      ['0', false],
    ] as const) {
      const { config } = parseHcl(`${MINIMAL}\nui = ${written}`);
      assert.equal(config.ui, value, written);
    }
  });

  test('takes numbers written as strings', () => {
    const { config } = parseHcl(
      'storage "inmem" {}\nlistener "tcp" {\n tls_disable = true\n max_request_size = "2048"\n}',
    );
    assert.equal(config.listeners[0]!.maxRequestSize, 2048);
  });

  test('reads a negative max_request_size as no limit, as Vault does', () => {
    const { config } = parseHcl(
      'storage "inmem" {}\nlistener "tcp" {\n tls_disable = true\n max_request_size = -1\n}',
    );
    assert.equal(config.listeners[0]!.maxRequestSize, Number.MAX_SAFE_INTEGER);
  });

  test('maps Vault log level spellings onto ours', () => {
    assert.equal(parseHcl(`${MINIMAL}\nlog_level = "WARNING"`).config.logLevel, 'warn');
    assert.equal(parseHcl(`${MINIMAL}\nlog_level = "err"`).config.logLevel, 'error');
  });

  test('warns about unknown keys, naming the key and where it is', () => {
    const { warnings } = parseHcl(`
      storage "inmem" { anything = "goes" }
      listener "tcp" {
        tls_disable = true
        foo = 1
        telemetry { bar = true }
      }
      config_listener "tcp" { baz = 2 }
      seal "awskms" { region = "eu-west-1" }
    `);
    assert.deepEqual(warnings, [
      'unknown configuration key "bar" in listener "tcp" telemetry',
      'unknown configuration key "foo" in listener "tcp"',
      'unknown configuration key "baz" in config_listener "tcp"',
      'unknown configuration key "seal"',
    ]);
  });

  test('reads the config store settings of config_listener under their Consul names', () => {
    const { config, warnings } = parseHcl(`${MINIMAL}
      config_listener "tcp" {
        address               = "127.0.0.1:8501"
        kv_max_value_size     = 1024
        txn_max_req_len       = "2048"
        session_ttl_min       = "1s"
        history_max_entries   = 50
        history_max_age       = "24h"
        history_hash_prefixes = ["credentials/", "tokens/"]
      }`);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.configListener, {
      type: 'tcp',
      address: '127.0.0.1:8501',
      kvMaxValueSize: 1024,
      txnMaxReqLen: 2048,
      sessionTtlMinSeconds: 1,
      historyMaxEntries: 50,
      historyMaxAgeSeconds: 86400,
      historyHashPrefixes: ['credentials/', 'tokens/'],
    });
    assert.throws(
      () => parseHcl(`${MINIMAL}\nconfig_listener "tcp" { kv_max_value_size = 0 }`),
      /"kv_max_value_size" in config_listener must be at least 1/,
    );
  });

  test('accepts disable_mlock with a note that it does nothing', () => {
    const { warnings } = parseHcl(`${MINIMAL}\ndisable_mlock = true`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /disable_mlock.*no effect/);
  });

  test('names the key of a bad duration', () => {
    assert.throws(
      () => parseHcl(`${MINIMAL}\ndefault_lease_ttl = "forever"`),
      /invalid value for "default_lease_ttl": invalid duration "forever"/,
    );
    assert.throws(() => parseHcl(`${MINIMAL}\nmax_lease_ttl = "-1h"`), /"max_lease_ttl".*negative/);
  });

  test('names the key of a value of the wrong type', () => {
    const cases: [string, RegExp][] = [
      ['ui = "yes"', /invalid value for "ui": expected a boolean/],
      ['api_addr = 8200', /invalid value for "api_addr": expected a string/],
      ['api_addr = "keep:8200"', /"api_addr": expected an http/],
      ['log_level = "loud"', /invalid value for "log_level": "loud"/],
      ['default_lease_ttl = [1]', /"default_lease_ttl": expected a duration/],
    ];
    for (const [line, message] of cases) {
      assert.throws(() => parseHcl(`${MINIMAL}\n${line}`), message, line);
    }
  });

  test('names the listener key of a bad value', () => {
    const listener = (body: string) => parseHcl(`storage "inmem" {}\nlistener "tcp" {\n${body}\n}`);
    assert.throws(
      () => listener('tls_disable = "maybe"'),
      /"tls_disable" in listener "tcp": expected a boolean/,
    );
    assert.throws(
      () => listener('tls_disable = true\nmax_request_size = "big"'),
      /"max_request_size" in listener "tcp": expected a whole number/,
    );
    assert.throws(
      () => listener('tls_disable = true\naddress = "localhost"'),
      /"address" in listener "tcp": expected host:port/,
    );
    assert.throws(
      () => listener('tls_disable = true\nx_forwarded_for_authorized_addrs = "10.0.0.0/33"'),
      /"x_forwarded_for_authorized_addrs" in listener "tcp": expected IP addresses or CIDRs/,
    );
  });

  test('refuses TLS without both certificate files', () => {
    assert.throws(
      () => parseHcl('storage "inmem" {}\nlistener "tcp" { tls_cert_file = "a.crt" }'),
      /needs "tls_cert_file" and "tls_key_file" unless "tls_disable" is true/,
    );
  });

  test('refuses listener types other than tcp', () => {
    assert.throws(
      () => parseHcl('storage "inmem" {}\nlistener "unix" { address = "/run/keep.sock" }'),
      /listener type "unix" is not supported; use listener "tcp"/,
    );
  });

  test('requires storage and a listener, with an example', () => {
    assert.throws(
      () => parseHcl('listener "tcp" { tls_disable = true }'),
      /storage block is required/,
    );
    assert.throws(() => parseHcl('storage "inmem" {}'), /at least one listener is required/);
    assert.throws(
      () =>
        parseHcl('storage "inmem" {}\nbackend "sqlite" {}\nlistener "tcp" { tls_disable = true }'),
      /only one storage block/,
    );
    assert.throws(() => parseHcl('storage { path = "x" }'), /"storage" needs a type label/);
  });

  test('refuses a default lease TTL above the maximum', () => {
    assert.throws(
      () => parseHcl(`${MINIMAL}\ndefault_lease_ttl = "800h"`),
      /"default_lease_ttl" \(2880000s\) cannot be greater than "max_lease_ttl" \(2764800s\)/,
    );
  });

  test('reports an HCL syntax error with its position', () => {
    assert.throws(() => parseHcl('storage "inmem" {\nlistener'), /syntax error: At \d+:\d+: /);
  });

  test('refuses malformed JSON the lenient HCL reader would half-read', () => {
    assert.throws(
      () => parseServerConfig('{"storage": {"inmem": {}}, "listener": [1,}', 'json'),
      /invalid JSON/,
    );
  });
});

describe('loadServerConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keep-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads HCL from a .hcl file and JSON from a .json file', () => {
    const hclFile = join(dir, 'keep.hcl');
    const jsonFile = join(dir, 'keep.json');
    writeFileSync(hclFile, MINIMAL);
    writeFileSync(
      jsonFile,
      JSON.stringify({ storage: { inmem: {} }, listener: { tcp: { tls_disable: true } } }),
    );
    assert.deepEqual(loadServerConfig(jsonFile), loadServerConfig(hclFile));
  });

  test('names the file in its errors', () => {
    const file = join(dir, 'bad.hcl');
    writeFileSync(file, `${MINIMAL}\nui = "nope"`);
    assert.throws(() => loadServerConfig(file), new RegExp(`${file}: invalid value for "ui"`));
    assert.throws(() => loadServerConfig(join(dir, 'missing.hcl')), /cannot read .*ENOENT/);
  });
});

describe('defaultServerConfig', () => {
  test('is SQLite in ./keep-data, plain HTTP on loopback 8200, config store on 8500', () => {
    const config = defaultServerConfig();
    assert.deepEqual(config.storage, { type: 'sqlite', options: { path: './keep-data' } });
    assert.equal(config.listeners.length, 1);
    assert.equal(config.listeners[0]!.address, '127.0.0.1:8200');
    assert.equal(config.listeners[0]!.tlsDisable, true);
    assert.deepEqual(config.configListener, { type: 'tcp', address: '127.0.0.1:8500' });
    assert.equal(config.defaultLeaseTtlSeconds, 768 * 3600);
    assert.equal(config.maxLeaseTtlSeconds, 768 * 3600);
  });

  test('returns a fresh object each time', () => {
    defaultServerConfig().listeners.pop();
    assert.equal(defaultServerConfig().listeners.length, 1);
  });
});

describe('telemetry block', () => {
  const listener = 'listener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n}';

  test('reads statsd_address, prometheus_retention_time and disable_hostname', () => {
    const { config, warnings } = parseServerConfig(
      `storage "inmem" {}\n${listener}\ntelemetry {\n  statsd_address = "127.0.0.1:8125"\n  prometheus_retention_time = "30s"\n  disable_hostname = "true"\n}`,
      'hcl',
    );
    assert.deepEqual(config.telemetry, {
      statsdAddress: '127.0.0.1:8125',
      prometheusRetentionSeconds: 30,
      disableHostname: true,
    });
    assert.deepEqual(warnings, []);
  });

  test('a block without a retention time keeps Vault default of 24h; 0 turns Prometheus off', () => {
    const none = parseServerConfig(`storage "inmem" {}\n${listener}\ntelemetry {}`, 'hcl');
    assert.equal(none.config.telemetry?.prometheusRetentionSeconds, 24 * 3600);
    const off = parseServerConfig(
      JSON.stringify({
        storage: { inmem: {} },
        listener: { tcp: { address: '127.0.0.1:8200', tls_disable: true } },
        telemetry: { prometheus_retention_time: 0 },
      }),
      'json',
    );
    assert.equal(off.config.telemetry?.prometheusRetentionSeconds, 0);
  });

  test('Vault telemetry keys Keep has no sink for are warned about by name', () => {
    const { warnings } = parseServerConfig(
      `storage "inmem" {}\n${listener}\ntelemetry {\n  dogstatsd_addr = "localhost:8125"\n}`,
      'hcl',
    );
    assert.deepEqual(warnings, ['unknown configuration key "dogstatsd_addr" in telemetry']);
  });

  test('a bad statsd_address is an error naming the key', () => {
    assert.throws(
      () =>
        parseServerConfig(
          `storage "inmem" {}\n${listener}\ntelemetry {\n  statsd_address = "nowhere"\n}`,
          'hcl',
        ),
      /invalid value for "statsd_address" in telemetry/,
    );
  });
});
