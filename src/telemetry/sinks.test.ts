import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import { withHostname } from './hostname-sink.ts';
import { InmemSink } from './inmem-sink.ts';
import { PrometheusSink, promSafe } from './prometheus-sink.ts';
import { StatsdSink } from './statsd-sink.ts';

describe('InmemSink', () => {
  test('aggregates per 10-second interval and shows the last finished one', () => {
    let now = 1_000_000_003_000;
    const sink = new InmemSink({ now: () => now });
    sink.counter('keep.c', 2, { code: '200' });
    sink.counter('keep.c', 4, { code: '200' });
    sink.timing('keep.t', 10);
    sink.gauge('keep.g', 7);
    // Only the running interval exists: it is shown.
    const first = sink.display() as { Counters: Record<string, unknown>[] };
    assert.deepEqual(first.Counters, [
      {
        Name: 'keep.c',
        Count: 2,
        Rate: 0.6,
        Sum: 6,
        Min: 2,
        Max: 4,
        Mean: 3,
        Stddev: Math.SQRT2,
        Labels: { code: '200' },
      },
    ]);

    now += 10_000;
    sink.gauge('keep.g', 8);
    const shown = sink.display() as Record<string, unknown>;
    assert.equal(shown.Timestamp, '2001-09-09 01:46:40 +0000 UTC');
    assert.deepEqual(shown.Gauges, [{ Name: 'keep.g', Value: 7, Labels: {} }]);

    now += 70_000;
    const later = sink.display() as { Counters: unknown[]; Gauges: unknown[] };
    assert.deepEqual(later.Counters, []);
  });
});

describe('PrometheusSink', () => {
  test("names, types and summaries as Vault's sink writes them", async () => {
    const sink = new PrometheusSink({ retentionMs: 60_000 });
    sink.gauge('keep.core.unsealed', 1);
    sink.counter('keep.core.response_status_code', 1, { code: '200', type: '2xx' });
    sink.timing('keep.route.read.secret-', 2);
    sink.timing('keep.route.read.secret-', 4);
    const text = await sink.render();
    assert.match(text, /^# TYPE keep_core_unsealed gauge\nkeep_core_unsealed 1$/m);
    assert.match(text, /^keep_core_response_status_code\{code="200",type="2xx"\} 1$/m);
    assert.match(text, /^# TYPE keep_route_read_secret_ summary$/m);
    assert.match(text, /^keep_route_read_secret__count 2$/m);
    assert.match(text, /^keep_route_read_secret__sum 6$/m);
    assert.match(text, /^keep_route_read_secret_\{quantile="0.99"\} 4$/m);
    assert.equal(sink.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });

  test('drops series older than the retention time, but never declared counters', async () => {
    let now = 0;
    const sink = new PrometheusSink({ retentionMs: 1000, now: () => now });
    sink.declareCounter('keep.audit.log_request_failure');
    sink.counter('keep.c', 1, { code: '200' });
    now = 500;
    sink.counter('keep.c', 1, { code: '500' });
    now = 1200;
    const text = await sink.render();
    assert.doesNotMatch(text, /code="200"/);
    assert.match(text, /keep_c\{code="500"\} 1/);
    assert.match(text, /keep_audit_log_request_failure 0/);
    now = 5000;
    const empty = await sink.render();
    assert.doesNotMatch(empty, /keep_c/);
    assert.match(empty, /keep_audit_log_request_failure 0/);
  });

  test('a name seen with other labels or another kind does not throw', async () => {
    const conflicts: string[] = [];
    const sink = new PrometheusSink({
      retentionMs: 60_000,
      onConflict: (name) => conflicts.push(name),
    });
    sink.counter('keep.x', 1, { a: '1' });
    sink.counter('keep.x', 1, { b: '2' });
    sink.gauge('keep.x', 3);
    assert.deepEqual(conflicts, ['keep.x']);
    assert.match(await sink.render(), /keep_x\{a=""\} 1/);
    assert.equal(promSafe('keep.route.list.auth-token-'), 'keep_route_list_auth_token_');
  });
});

describe('hostname and StatsD', () => {
  test('the host name goes into gauge names only', () => {
    const seen: string[] = [];
    const sink = withHostname(
      {
        counter: (n) => seen.push(n),
        gauge: (n) => seen.push(n),
        timing: (n) => seen.push(n),
      },
      'node-1',
    );
    sink.gauge('keep.core.unsealed', 1);
    sink.counter('keep.core.response_status_code', 1);
    sink.timing('keep.core.handle_request', 1);
    assert.deepEqual(seen, [
      'keep.node-1.core.unsealed',
      'keep.core.response_status_code',
      'keep.core.handle_request',
    ]);
  });

  test('StatsD lines fold label values into the name and carry no tags', async () => {
    const socket = dgram.createSocket('udp4');
    const lines: string[] = [];
    socket.on('message', (m) => lines.push(...m.toString().split('\n').filter(Boolean)));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const sink = new StatsdSink(`127.0.0.1:${socket.address().port}`, { onError: () => {} });
    sink.counter('keep.core.response_status_code', 1, { code: '503', type: '5xx' });
    sink.counter('keep.declared', 0);
    sink.gauge('keep.core.unsealed', 0);
    sink.timing('keep.storage.get', 1.5, { backend: 'sqlite' });
    await sink.close();
    const deadline = Date.now() + 2000;
    while (lines.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    socket.close();
    assert.deepEqual(lines.sort(), [
      'keep.core.response_status_code.503.5xx:1|c',
      'keep.core.unsealed:0|g',
      'keep.storage.get.sqlite:1.5|ms',
    ]);
  });
});
