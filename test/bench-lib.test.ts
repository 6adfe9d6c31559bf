/**
 * The pure parts of `npm run bench`: medians and ratios, goal verdicts, wrk's
 * output, the shape of bench/results/latest.json and the CPU profile
 * summary. Nothing here measures or asserts on timing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { areaOf, type CpuProfile, summariseProfile } from '../bench/lib/profile.ts';
import {
  checkRows,
  makeRow,
  notRunRow,
  pairedRatio,
  renderTable,
  verdict,
} from '../bench/lib/results.ts';
import { describeGoal, goalMet, median, ratio, roundFigure } from '../bench/lib/stats.ts';
import { parseWrkDuration, parseWrkOutput } from '../bench/lib/wrk.ts';

describe('bench statistics', () => {
  it('takes the median of odd and even counts and ignores non-finite figures', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5, Number.NaN, 1, Number.POSITIVE_INFINITY, 3]), 3);
    assert.equal(median([]), null);
  });

  it('computes product / ceiling and refuses a missing or zero ceiling', () => {
    assert.equal(ratio(70, 100), 0.7);
    assert.equal(ratio(70, 0), null);
    assert.equal(ratio(null, 100), null);
    assert.equal(ratio(70, null), null);
  });

  it('judges goals on the ratio or on the value, in either direction', () => {
    assert.equal(goalMet({ on: 'ratio', op: '>=', bound: 0.7 }, 5, 0.7), true);
    assert.equal(goalMet({ on: 'ratio', op: '>=', bound: 0.7 }, 5, 0.69), false);
    assert.equal(goalMet({ on: 'value', op: '<=', bound: 20 }, 20.5, null), false);
    assert.equal(goalMet({ on: 'value', op: '<=', bound: 20 }, null, 1), null);
    assert.equal(describeGoal({ on: 'value', op: '<=', bound: 20 }, 'ms'), 'value <= 20 ms');
    assert.equal(describeGoal({ on: 'ratio', op: '>=', bound: 0.95 }, 'req/s'), 'ratio >= 0.95');
  });

  it('rounds figures to three significant digits but keeps large ones whole', () => {
    assert.equal(roundFigure(12345.678), 12346);
    assert.equal(roundFigure(0.123456), 0.123);
    assert.equal(roundFigure(Number.NaN), null);
  });
});

const WRK_TEXT = `Running 2s test @ http://127.0.0.1:41311
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.31ms    1.02ms  28.54ms   93.12%
    Req/Sec    15.26k     1.10k   16.42k    85.00%
  Latency Distribution
     50%    3.10ms
     75%    3.40ms
     90%    3.90ms
     99%    7.84ms
  30372 requests in 2.00s, 13.76MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:  15185.50
Transfer/sec:      6.88MB
`;

describe('wrk output', () => {
  it('reads wrk durations in every unit it prints', () => {
    assert.equal(parseWrkDuration('456.00us'), 0.456);
    assert.equal(parseWrkDuration('3.31ms'), 3.31);
    assert.equal(parseWrkDuration('2.00s'), 2000);
    assert.equal(parseWrkDuration('1.00m'), 60_000);
    assert.throws(() => parseWrkDuration('fast'));
  });

  it('parses the human text of wrk --latency when the script line is absent', () => {
    const r = parseWrkOutput(WRK_TEXT);
    assert.equal(r.requests, 30372);
    assert.equal(r.durationS, 2);
    assert.equal(r.rps, 15185.5);
    assert.equal(r.latencyMs.mean, 3.31);
    assert.equal(r.latencyMs.max, 28.54);
    assert.equal(r.latencyMs.p50, 3.1);
    assert.equal(r.latencyMs.p99, 7.84);
    assert.ok(Number.isNaN(r.latencyMs.p999));
    assert.equal(r.non2xx, 12);
    assert.deepEqual(r.socketErrors, { connect: 0, read: 1, write: 0, timeout: 2 });
  });

  it("prefers the exact figures of the Lua script's KEEP_WRK_JSON line", () => {
    const line =
      'KEEP_WRK_JSON {"requests":20000,"duration_us":2000000,"bytes":1,' +
      '"errors":{"connect":0,"read":0,"write":0,"status":3,"timeout":0},' +
      '"latency_us":{"mean":2500.5,"max":40000,"p50":2000,"p75":2600,"p90":3000,"p99":9000,"p999":15000}}';
    const r = parseWrkOutput(`${WRK_TEXT}${line}\n`);
    assert.equal(r.requests, 20000);
    assert.equal(r.rps, 10000);
    assert.equal(r.latencyMs.p99, 9);
    assert.equal(r.latencyMs.p999, 15);
    assert.equal(r.latencyMs.mean, 2.5005);
    assert.equal(r.non2xx, 3);
  });

  it('refuses output without a summary rather than reporting zero', () => {
    assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused'));
  });
});

describe('bench results', () => {
  it('builds rows with ratio and verdict from medians', () => {
    const row = makeRow({
      scenario: 'kv2-read-noaudit',
      metric: 'throughput',
      value: 7000,
      unit: 'req/s',
      ceiling: 10000,
      ceilingName: 'H',
      goal: { on: 'ratio', op: '>=', bound: 0.7 },
      rounds: { value: [6900, 7000, 7100], ceiling: [9000, 10000, 11000] },
    });
    assert.equal(row.ratio, 0.7);
    assert.equal(row.goal, 'ratio >= 0.7');
    assert.equal(row.met, true);
    assert.equal(verdict(row), 'met');
    const missed = makeRow({
      scenario: 's',
      metric: 'p99',
      value: 25,
      unit: 'ms',
      goal: { on: 'value', op: '<=', bound: 20 },
    });
    assert.equal(missed.met, false);
    assert.equal(verdict(missed), 'MISSED');
  });

  it('takes the ratio as the median of per-round ratios when rounds are paired', () => {
    // A drifting machine: medians of each side would give 6543 / 8476 = 0.77.
    const rounds = {
      value: [6380, 6172, 6543, 7363, 8357],
      ceiling: [4493, 6522, 8476, 8839, 8482],
    };
    const paired = pairedRatio(rounds)!;
    assert.ok(Math.abs(paired - 6172 / 6522) < 1e-12);
    const row = makeRow({
      scenario: 'list-verb',
      metric: 'throughput',
      value: 6543,
      unit: 'req/s',
      ceiling: 8476,
      goal: { on: 'ratio', op: '>=', bound: 0.95 },
      rounds,
    });
    assert.equal(row.ratio, Number(paired.toFixed(3)));
    assert.equal(pairedRatio({ value: [1, 2], ceiling: [1] }), null);
    assert.equal(pairedRatio({ value: [1], ceiling: [0] }), null);
  });

  it('accepts well-formed rows, including not-run rows with a note', () => {
    const rows = [
      makeRow({ scenario: 'a', metric: 'm', value: 1, unit: 'x', ceiling: 2 }),
      notRunRow(
        'kv2-read',
        'throughput',
        'req/s',
        { on: 'ratio', op: '>=', bound: 0.7 },
        'no audit',
      ),
    ];
    assert.deepEqual(checkRows(rows), []);
    assert.equal(rows[1]!.value, null);
    assert.equal(rows[1]!.met, null);
    assert.match(rows[1]!.note ?? '', /^not run: /);
    assert.equal(verdict(rows[1]!), 'not run');
  });

  it('names every problem in malformed results', () => {
    assert.deepEqual(checkRows({}), ['results must be an array']);
    const problems = checkRows([
      {
        scenario: 'a',
        metric: 'm',
        value: null,
        unit: '',
        ceiling: null,
        ratio: null,
        goal: null,
        met: null,
      },
      {
        scenario: '',
        metric: 'm',
        value: Number.NaN,
        unit: '',
        ceiling: null,
        ratio: null,
        goal: null,
        met: true,
      },
      { scenario: 'b', metric: 'm' },
    ]);
    assert.ok(problems.some((p) => /row 0: a row without a value needs a note/.test(p)));
    assert.ok(problems.some((p) => /row 1: scenario/.test(p)));
    assert.ok(problems.some((p) => /row 1: value must be a finite number or null/.test(p)));
    assert.ok(problems.some((p) => /row 1: met without a goal/.test(p)));
    assert.ok(problems.some((p) => /row 2: missing value/.test(p)));
  });

  it('renders a table with one line per row and the verdicts spelled out', () => {
    const table = renderTable([
      makeRow({
        scenario: 'x',
        metric: 'm',
        value: 1,
        unit: 'ms',
        goal: { on: 'value', op: '<=', bound: 0.5 },
      }),
      notRunRow('y', 'm', 'ms', { on: 'value', op: '<=', bound: 1 }, 'feature not built yet'),
    ]);
    const lines = table.split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[2]!, /MISSED/);
    assert.match(lines[3]!, /not run/);
  });
});

describe('CPU profile summary', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({
    functionName,
    url,
    lineNumber,
    columnNumber: 0,
  });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('get', 'file:///x/dist/keep.mjs', 10) },
      { id: 4, callFrame: frame('writev', '') },
      { id: 5, callFrame: frame('(garbage collector)', '') },
    ],
    startTime: 0,
    endTime: 1000,
    // Each sample owns the gap to the next one.
    samples: [2, 3, 3, 4, 5, 2],
    timeDeltas: [0, 100, 300, 200, 100, 200],
  };

  it('attributes self time per function and leaves idle time out of the shares', () => {
    const s = summariseProfile(profile, {
      locate: (url) =>
        url.endsWith('keep.mjs') ? { file: 'src/storage/sqlite.ts', line: 80 } : undefined,
    });
    assert.equal(s.totalMs, 0.9);
    assert.equal(s.idleMs, 0.1);
    assert.equal(s.top[0]!.name, 'get (src/storage/sqlite.ts:80)');
    assert.equal(s.top[0]!.area, 'keep src/storage');
    assert.equal(s.top[0]!.share, 0.5 / 0.8);
    assert.deepEqual(
      s.areas.map((a) => a.area),
      ['keep src/storage', 'GC', 'native writes: socket or file (incl. the syscall)'],
    );
  });

  it('counts only the samples inside a given window', () => {
    // Samples at 400 µs (get, owns 200 µs) and 600 µs (writev, owns 100 µs).
    const s = summariseProfile(profile, { window: { startUs: 350, endUs: 650 } });
    assert.deepEqual(
      s.top.map((f) => [f.name, f.selfMs]),
      [
        ['get (file:///x/dist/keep.mjs:11)', 0.2],
        ['writev', 0.1],
      ],
    );
  });

  it('sorts locations into areas', () => {
    assert.equal(areaOf('handle', 'node_modules/fastify/lib/route.js'), 'fastify');
    assert.equal(areaOf('x', 'src/http/list-shim.ts'), 'keep src/http');
    assert.equal(areaOf('parserOnIncoming', 'node:_http_server'), 'node http');
    assert.equal(areaOf('Hmac', 'node:internal/crypto/hash'), 'node crypto');
  });
});
