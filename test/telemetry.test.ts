/**
 * Telemetry on a real server: StatsD lines on a real UDP socket, the
 * Prometheus and JSON forms of sys/metrics and who may read them, the log
 * level changed at run time, and the deploy/ files checked against what the
 * server really exports: promtool on the alert rules, the dashboard's metric
 * names, a real Prometheus scraping Keep and evaluating the rules, the
 * systemd unit and the example HA configs.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseServerConfig } from '../src/config/server-config.ts';
import {
  type KeepProcess,
  removeDir,
  requirePackage,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';

const DEPLOY = resolve(import.meta.dirname, '..', 'deploy');
const RULES = join(DEPLOY, 'prometheus', 'keep-alerts.yml');
const DASHBOARD = join(DEPLOY, 'grafana', 'keep-dashboard.json');

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
const hasPrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;

/** Every `keep_*` name in a PromQL text (dashboard queries, rule expressions). */
function keepMetricNames(text: string): Set<string> {
  return new Set(text.match(/\bkeep_[a-zA-Z0-9_:]*/g) ?? []);
}

/** The series names an exposition offers: each family, plus `_sum`/`_count` of summaries. */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'summary' || m[2] === 'histogram') {
      names.add(`${m[1]}_sum`);
      names.add(`${m[1]}_count`);
    }
  }
  return names;
}

/** The value of one series line, e.g. `keep_core_unsealed 1`. */
function sample(exposition: string, series: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

describe('telemetry on a running server', () => {
  const dir = tempDir('keep-telemetry-');
  const udp = dgram.createSocket('udp4');
  const statsd: string[] = [];
  let server: KeepProcess;
  let open: string; // the listener with unauthenticated_metrics_access
  let root: string;
  let unsealKey: string;

  async function call(method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
    const headers: Record<string, string> = {};
    if (opts.token !== '') headers['X-Vault-Token'] = opts.token ?? root;
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, text, type: res.headers.get('content-type') ?? '' };
  }

  const prometheusText = async () => (await call('GET', 'sys/metrics?format=prometheus')).text;

  before(async () => {
    udp.on('message', (msg) => statsd.push(...msg.toString().split('\n').filter(Boolean)));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const statsdPort = udp.address().port;

    server = await startKeep({
      storage: 'sqlite',
      dir,
      extraConfig: `
listener "tcp" {
  address     = "127.0.0.1:0"
  tls_disable = true
  telemetry {
    unauthenticated_metrics_access = true
  }
}
telemetry {
  statsd_address   = "127.0.0.1:${statsdPort}"
  disable_hostname = true
}`,
    });
    const ports = server.output
      .filter((l) => l.includes('"msg":"listening"'))
      .map((l) => /"port":(\d+)/.exec(l)![1]);
    assert.equal(ports.length, 2, 'both listeners are up');
    open = `http://127.0.0.1:${ports[1]}`;

    const init = JSON.parse(
      (
        await call('PUT', 'sys/init', {
          token: '',
          body: { secret_shares: 1, secret_threshold: 1 },
        })
      ).text,
    );
    root = init.root_token;
    unsealKey = init.keys[0];
    assert.equal((await call('PUT', 'sys/unseal', { body: { key: unsealKey } })).status, 200);

    // A workload that touches every storage operation, tokens and errors.
    const kv = { type: 'kv', options: { version: '2' } };
    assert.equal((await call('POST', 'sys/mounts/secret', { body: kv })).status, 204);
    for (let i = 0; i < 5; i++) {
      const w = await call('POST', `secret/data/app/k${i}`, { body: { data: { v: i } } });
      assert.equal(w.status, 200);
      assert.equal((await call('GET', `secret/data/app/k${i}`)).status, 200);
    }
    assert.equal((await call('LIST', 'secret/metadata/app')).status, 200);
    assert.equal((await call('DELETE', 'secret/metadata/app/k0')).status, 204);
    assert.equal((await call('GET', 'secret/data/app/k0')).status, 404);
    assert.equal((await call('POST', 'cubbyhole/tmp', { body: { v: 1 } })).status, 204);
    assert.equal((await call('DELETE', 'cubbyhole/tmp')).status, 204);
    const child = JSON.parse((await call('POST', 'auth/token/create', { body: {} })).text);
    const revoke = { body: { token: child.auth.client_token } };
    assert.equal((await call('POST', 'auth/token/revoke', revoke)).status, 204);
    assert.equal((await call('GET', 'secret/data/app/k1', { token: 'nope' })).status, 403);
  });

  after(async () => {
    await server?.stop();
    udp.close();
    removeDir(dir);
  });

  it('sends StatsD lines to a real UDP socket: gauges, counters and timers', async () => {
    const want = [
      /^keep\.core\.unsealed:1\|g$/,
      /^keep\.core\.active:1\|g$/,
      /^keep\.storage\.get\.sqlite:[\d.]+\|ms$/,
      /^keep\.core\.mount_request\.secret\/\.create\.200:[\d.]+\|ms$/,
      /^keep\.route\.read\.secret-:[\d.]+\|ms$/,
      /^keep\.core\.response_status_code\.403\.4xx:1\|c$/,
      /^keep\.token\.creation\.token\.auth\/token\/\.\+Inf\.service:1\|c$/,
    ];
    await waitFor('StatsD lines', 5000, async () =>
      want.every((re) => statsd.some((l) => re.test(l))) ? true : undefined,
    ).catch((err) => {
      const missing = want.filter((re) => !statsd.some((l) => re.test(l)));
      throw new Error(`${err.message}; missing ${missing.join(', ')}; got ${statsd.length} lines`);
    });
    // Plain StatsD: no DogStatsD tags anywhere.
    assert.equal(
      statsd.some((l) => l.includes('|#')),
      false,
    );
  });

  it('serves the Prometheus text format with the unsealed gauge and request counters', async () => {
    const res = await call('GET', 'sys/metrics?format=prometheus');
    assert.equal(res.status, 200);
    assert.equal(res.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(sample(res.text, 'keep_core_unsealed'), 1);
    assert.equal(sample(res.text, 'keep_core_active'), 1);
    const creates =
      'keep_core_mount_request_count{mount_point="secret/",operation="create",code="200"}';
    assert.equal(sample(res.text, creates), 5);
    const reads =
      'keep_core_mount_request_count{mount_point="secret/",operation="read",code="200"}';
    assert.equal(sample(res.text, reads), 5);
    assert.ok(
      (sample(res.text, 'keep_core_response_status_code{code="403",type="4xx"}') ?? 0) >= 1,
    );
    assert.ok((sample(res.text, 'keep_storage_put_count{backend="sqlite"}') ?? 0) > 0);
    assert.equal(sample(res.text, 'keep_token_revoke_count'), 1);
    assert.equal(sample(res.text, 'keep_audit_log_request_failure'), 0);
    // The sys/metrics read itself is a request too; a second read counts it.
    const again = await prometheusText();
    const metricsReads =
      'keep_core_mount_request_count{mount_point="sys/",operation="read",code="200"}';
    assert.ok((sample(again, metricsReads) ?? 0) >= 1);
  });

  it("answers Vault's JSON shape without a format", async () => {
    // Vault shows the last finished 10-second interval: wait for one that
    // ended after the unseal.
    const body = await waitFor('an interval with the node unsealed', 12_000, async () => {
      const res = await call('GET', 'sys/metrics');
      assert.equal(res.status, 200);
      const json = JSON.parse(res.text);
      const gauge = json.Gauges.find((g: { Name: string }) => g.Name === 'keep.core.unsealed');
      return gauge?.Value === 1 ? json : undefined;
    });
    assert.deepEqual(Object.keys(body).sort(), [
      'Counters',
      'Gauges',
      'Points',
      'Samples',
      'Timestamp',
    ]);
    assert.match(body.Timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    const unsealed = body.Gauges.find((g: { Name: string }) => g.Name === 'keep.core.unsealed');
    assert.deepEqual(unsealed, { Name: 'keep.core.unsealed', Value: 1, Labels: {} });
    for (const s of [...body.Counters, ...body.Samples]) {
      for (const k of ['Name', 'Count', 'Rate', 'Sum', 'Min', 'Max', 'Mean', 'Stddev', 'Labels']) {
        assert.ok(k in s, `${s.Name} has ${k}`);
      }
    }
  });

  it('needs read on sys/metrics unless the listener has unauthenticated_metrics_access', async () => {
    assert.equal((await call('GET', 'sys/metrics', { token: '' })).status, 403);
    assert.equal((await call('GET', 'sys/metrics?format=prometheus', { token: '' })).status, 403);

    const policy = { policy: 'path "sys/metrics" { capabilities = ["read"] }' };
    assert.equal((await call('PUT', 'sys/policies/acl/metrics', { body: policy })).status, 204);
    const create = async (policies: string[]) =>
      JSON.parse((await call('POST', 'auth/token/create', { body: { policies } })).text).auth
        .client_token as string;
    const reader = await create(['metrics']);
    const other = await create(['default']);
    assert.equal((await call('GET', 'sys/metrics', { token: other })).status, 403);
    const allowed = await call('GET', 'sys/metrics?format=prometheus', { token: reader });
    assert.equal(allowed.status, 200);
    assert.equal(sample(allowed.text, 'keep_core_unsealed'), 1);

    const anonymous = await fetch(`${open}/v1/sys/metrics?format=prometheus`);
    assert.equal(anonymous.status, 200);
    assert.equal(sample(await anonymous.text(), 'keep_core_unsealed'), 1);
    // Prometheus' own Accept header selects the text format, as in Vault.
    const scraped = await fetch(`${open}/v1/sys/metrics`, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4' },
    });
    assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  });

  it('changes the log level at run time through sys/loggers (sudo only)', async () => {
    const debugLines = () => server.output.filter((l) => l.includes('"level":20')).length;
    const before = debugLines();
    assert.equal(before, 0, 'the server starts at info');
    assert.equal(JSON.parse((await call('GET', 'sys/loggers')).text).data.core, 'info');

    const policy = { policy: 'path "sys/loggers" { capabilities = ["update", "read"] }' };
    assert.equal((await call('PUT', 'sys/policies/acl/loggers', { body: policy })).status, 204);
    const noSudo = JSON.parse(
      (await call('POST', 'auth/token/create', { body: { policies: ['loggers'] } })).text,
    ).auth.client_token;
    const refused = await call('PUT', 'sys/loggers', { token: noSudo, body: { level: 'debug' } });
    assert.equal(refused.status, 403);
    assert.equal((await call('PUT', 'sys/loggers', { body: { level: 'loud' } })).status, 400);

    assert.equal((await call('PUT', 'sys/loggers', { body: { level: 'debug' } })).status, 204);
    assert.equal(JSON.parse((await call('GET', 'sys/loggers/core')).text).data.core, 'debug');
    await call('GET', 'secret/data/app/k1');
    await waitFor('a debug line', 3000, async () => (debugLines() > 0 ? true : undefined));

    assert.equal((await call('DELETE', 'sys/loggers')).status, 204);
    assert.equal(JSON.parse((await call('GET', 'sys/loggers')).text).data.core, 'info');
    await new Promise((r) => setTimeout(r, 200));
    const afterReset = debugLines();
    await call('GET', 'secret/data/app/k1');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(debugLines(), afterReset, 'no debug lines once reset');
  });

  it('exports every metric the Grafana dashboard and the alert rules name', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const queries: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if ((k === 'expr' || k === 'query' || k === 'definition') && typeof v === 'string') {
            queries.push(v);
          } else walk(v);
        }
      }
    };
    walk(dashboard);
    assert.ok(queries.length >= 20, `dashboard has ${queries.length} queries`);

    const exported = exportedNames(await prometheusText());
    const named = keepMetricNames(queries.join('\n'));
    const ruled = keepMetricNames(readFileSync(RULES, 'utf8'));
    assert.ok(named.size >= 15, `dashboard names ${named.size} metrics`);
    const missing = [...named, ...ruled].filter((n) => !exported.has(n));
    assert.deepEqual(missing, [], `named but not exported; exported: ${[...exported].join(' ')}`);
  });

  it('passes promtool check rules', { skip: requirePackage(hasPromtool, 'prometheus') }, () => {
    const r = spawnSync('promtool', ['check', 'rules', RULES], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: 6 rules found/);
  });

  it('is scraped by a real Prometheus, which sees the gauge and fires KeepSealed after a seal', {
    skip: requirePackage(hasPrometheus, 'prometheus'),
    timeout: 90_000,
  }, async () => {
    const promDir = tempDir('keep-prometheus-');
    const port = await freePort();
    const target = new URL(open).host;
    const tokenFile = join(promDir, 'token');
    writeFileSync(tokenFile, root);
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ${RULES}
scrape_configs:
  - job_name: keep
    metrics_path: /v1/sys/metrics
    params:
      format: ["prometheus"]
    static_configs:
      - targets: ["${target}"]
  - job_name: keep-token
    metrics_path: /v1/sys/metrics
    params:
      format: ["prometheus"]
    authorization:
      credentials_file: ${tokenFile}
    static_configs:
      - targets: ["${new URL(server.addr).host}"]
`,
    );
    const prom: ChildProcess = spawn(
      'prometheus',
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const log: string[] = [];
    prom.stderr!.on('data', (d) => log.push(String(d)));
    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (q: string) => {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return body.data.result;
    };
    try {
      const t0 = Date.now();
      await waitFor('Prometheus ready', 30_000, async () =>
        (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok ? true : undefined,
      );
      const unsealed = await waitFor('keep_core_unsealed in Prometheus', 30_000, async () => {
        const r = await query('keep_core_unsealed{job="keep"}');
        return r.length > 0 ? r : undefined;
      });
      assert.equal(unsealed[0]!.value[1], '1');
      const up = await waitFor('the token-authenticated job up', 15_000, async () => {
        const r = await query('up{job="keep-token"}');
        return r[0]?.value[1] === '1' ? r : undefined;
      });
      assert.equal(up.length, 1);
      const rules = (await (await fetch(`${api}/rules`)).json()) as {
        data: { groups: { rules: unknown[] }[] };
      };
      assert.equal(rules.data.groups[0]!.rules.length, 6);
      const scrapedAfterMs = Date.now() - t0;

      assert.equal((await call('PUT', 'sys/seal')).status, 204);
      const sealed = await waitFor('keep_core_unsealed 0', 15_000, async () => {
        const r = await query('keep_core_unsealed{job="keep"}');
        return r[0]?.value[1] === '0' ? r : undefined;
      });
      assert.equal(sealed.length, 1);
      const alert = await waitFor('KeepSealed pending', 15_000, async () => {
        const res = await fetch(`${api}/alerts`);
        const body = (await res.json()) as {
          data: { alerts: { labels: { alertname: string }; state: string }[] };
        };
        return body.data.alerts.find((a) => a.labels.alertname === 'KeepSealed');
      });
      assert.equal(alert.state, 'pending');
      process.stderr.write(
        `# prometheus: first keep_core_unsealed after ${scrapedAfterMs} ms; ` +
          `KeepSealed pending ${Date.now() - t0 - scrapedAfterMs} ms after the seal\n`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprometheus log:\n${log.join('').slice(-3000)}`);
    } finally {
      if (prom.exitCode === null) {
        const exited = new Promise((r) => prom.once('exit', r));
        prom.kill('SIGTERM');
        const timer = setTimeout(() => prom.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      removeDir(promDir);
    }
    // Unseal again for anything after this test.
    await call('PUT', 'sys/unseal', { token: '', body: { key: unsealKey } });
  });
});

describe('telemetry defaults', () => {
  it('puts the host name into gauge names unless disable_hostname is set, as Vault does', async () => {
    const dir = tempDir('keep-telemetry-host-');
    const server = await startKeep({ storage: 'inmem', dir });
    try {
      const res = await fetch(`${server.addr}/v1/sys/init`, {
        method: 'PUT',
        body: JSON.stringify({ secret_shares: 1, secret_threshold: 1 }),
      });
      const init = (await res.json()) as { keys: string[]; root_token: string };
      await fetch(`${server.addr}/v1/sys/unseal`, {
        method: 'PUT',
        body: JSON.stringify({ key: init.keys[0] }),
      });
      const headers = { 'X-Vault-Token': init.root_token };
      const json = await (await fetch(`${server.addr}/v1/sys/metrics`, { headers })).json();
      const names = (json as { Gauges: { Name: string }[] }).Gauges.map((g) => g.Name);
      assert.ok(names.includes(`keep.${hostname()}.core.unsealed`), names.join(' '));
      const text = await (
        await fetch(`${server.addr}/v1/sys/metrics?format=prometheus`, { headers })
      ).text();
      const promHost = hostname().replace(/[^a-zA-Z0-9_:]/g, '_');
      assert.equal(sample(text, `keep_${promHost}_core_unsealed`), 1);
      assert.equal(sample(text, 'keep_core_unsealed'), undefined);
    } finally {
      await server.stop();
      removeDir(dir);
    }
  });
});

describe('deploy/systemd/keep.service', () => {
  // systemd is not a package the suites install: a machine without it skips.
  const analyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
  const skip = analyze ? false : 'systemd-analyze is not on this machine';
  it('passes systemd-analyze verify', { skip }, () => {
    const dir = tempDir('keep-systemd-');
    try {
      // verify insists that ExecStart exists; point it at this checkout's command.
      const unit = readFileSync(join(DEPLOY, 'systemd', 'keep.service'), 'utf8');
      const bin = resolve(import.meta.dirname, '..', 'bin', 'keep.js');
      assert.match(
        unit,
        /^ExecStart=\/usr\/local\/bin\/keep server -config=\/etc\/keep\/keep\.hcl$/m,
      );
      writeFileSync(join(dir, 'keep.service'), unit.replace('/usr/local/bin/keep', bin));
      const r = spawnSync('systemd-analyze', ['verify', join(dir, 'keep.service')], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.equal(r.stderr, '');
    } finally {
      removeDir(dir);
    }
  });
});

describe('deploy/ example HA configurations', () => {
  for (const file of ['keep-etcd.hcl', 'keep-postgresql.hcl']) {
    it(`${file} parses in Vault's shape with no unknown keys`, () => {
      const text = readFileSync(join(DEPLOY, 'ha', file), 'utf8');
      const { config, warnings } = parseServerConfig(text, 'hcl');
      assert.deepEqual(warnings, []);
      assert.equal(config.storage.options.ha_enabled, 'true');
      assert.equal(config.telemetry?.disableHostname, true);
      assert.equal(config.listeners[0]!.telemetry.unauthenticatedMetricsAccess, true);
    });
  }
});
