/**
 * `npm run bench [-- --quick]`: measures Keep against ceilings measured in the
 * same run (a bare node:http route, a bare fastify route, raw SQLite), in
 * alternating rounds, and writes bench/results/latest.json and BENCHMARKS.md.
 * See bench/README.md.
 *
 * Options: --quick (every scenario, shorter: under two minutes),
 * --only=a,b (only these scenarios, for working on the bench; results are
 * still written, BENCHMARKS.md only with --markdown), --no-markdown.
 */

import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  addSecrets,
  BENCH_POLICY,
  createDataset,
  type Dataset,
  SECRET_PREFIX,
} from './lib/dataset.ts';
import {
  api,
  DIST_BIN,
  freePort,
  type KeepServer,
  keepBin,
  launchNode,
  ROOT,
  rssKb,
  snapshotKeepBundle,
  spawnNode,
  startCeiling,
  startKeep,
  trackChild,
  waitForAnswer,
  writeKeepConfig,
} from './lib/procs.ts';
import {
  bundleLocator,
  type CpuProfile,
  limitsLine,
  monotonicUs,
  summariseHeapProfile,
  summariseProfile,
} from './lib/profile.ts';
import { rawDurableWrites, rawKvReads } from './lib/raw-sqlite.ts';
import {
  checkRows,
  type Machine,
  makeRow,
  type ProfileReport,
  type Report,
  type ResultRow,
  renderMarkdown,
  renderTable,
} from './lib/results.ts';
import { median } from './lib/stats.ts';
import { findWrk, runWrk, type WrkOutcome, type WrkRun } from './lib/wrk.ts';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const ONLY = argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const MARKDOWN = argv.includes('--markdown') || (!ONLY && !argv.includes('--no-markdown'));

const CFG = QUICK
  ? {
      rounds: 3,
      durationS: 2,
      warmupS: 1,
      rawS: 1,
      small: 1_000,
      startup: 20_000,
      big: 20_000,
      probes: 2,
    }
  : {
      rounds: 5,
      durationS: 8,
      warmupS: 2,
      rawS: 2,
      small: 1_000,
      startup: 100_000,
      big: 1_000_000,
      probes: 3,
    };
const CONNECTIONS = 50;
const RESULTS = join(ROOT, 'bench', 'results');
const PROFILES = join(RESULTS, 'profiles');

const rows: ResultRow[] = [];
const notes: string[] = [];
const profiles: ProfileReport[] = [];
const profileLimits = new Map<string, string>();
const failures: string[] = [];
const started = performance.now();

function log(msg: string): void {
  const t = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${t}s] ${msg}\n`);
}

const wanted = (scenario: string) => !ONLY || ONLY.includes(scenario);
const mb = (kb: number) => kb / 1024;

/** Runs a scenario; a failure is reported as a row with the reason, never dropped. */
async function scenario(name: string, body: () => Promise<void>): Promise<void> {
  if (!wanted(name)) return;
  log(`== ${name}`);
  try {
    await body();
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0]!;
    log(`!! ${name} failed: ${(err as Error).stack ?? msg}`);
    failures.push(name);
    rows.push({
      scenario: name,
      metric: 'run',
      value: null,
      unit: '',
      ceiling: null,
      ratio: null,
      goal: null,
      met: null,
      note: `failed: ${msg}`,
    });
  }
}

/** Runs `fns` once per round, reversing the order every other round; returns the figures. */
async function alternate<T>(
  label: string,
  fns: Record<string, () => Promise<T>>,
  show: (t: T) => string,
  rounds = CFG.rounds,
): Promise<Record<string, T[]>> {
  const names = Object.keys(fns);
  const out: Record<string, T[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    const parts: string[] = [];
    for (const name of order) {
      const t = await fns[name]!();
      out[name]!.push(t);
      parts.push(`${name} ${show(t)}`);
    }
    log(`${label} round ${r + 1}/${rounds}: ${parts.join('; ')}`);
  }
  return out;
}

/** A wrk run that must see only 2xx answers. */
async function load(run: Omit<WrkRun, 'connections' | 'durationS'> & { durationS?: number }) {
  const res = await runWrk({ connections: CONNECTIONS, durationS: CFG.durationS, ...run });
  if (res.requests === 0) throw new Error(`no request completed against ${run.base}${run.path}`);
  if (res.non2xx > 0) {
    throw new Error(
      `${res.non2xx} of ${res.requests} answers were not 2xx from ${run.base}${run.path}`,
    );
  }
  return res;
}

const rpsOf = (w: WrkOutcome) => w.rps;
const showRps = (w: WrkOutcome) =>
  `${Math.round(w.rps)} req/s p99 ${w.latencyMs.p99.toFixed(1)} ms`;

async function unseal(server: KeepServer, ds: Dataset): Promise<void> {
  await api(server.base, 'PUT', 'sys/unseal', { body: { key: ds.unsealKey } });
  const health = await fetch(`${server.base}/v1/sys/health`);
  await health.arrayBuffer();
  if (health.status !== 200) throw new Error(`not active after unseal: ${health.status}`);
}

/** A token with only the 20-rule bench policy (no `default`), as a non-root client has. */
async function benchToken(base: string, rootToken: string): Promise<string> {
  const res = await api(base, 'POST', 'auth/token/create', {
    token: rootToken,
    body: { policies: [BENCH_POLICY], no_default_policy: true },
  });
  return (res.json as { auth: { client_token: string } }).auth.client_token;
}

async function expectOk(url: string, init: RequestInit, what: string): Promise<void> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${text.slice(0, 200)}`);
}

async function settledRss(pid: number, ms = 1000): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return rssKb(pid);
}

function machine(): Machine {
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) osName = `${m[1]} (${os.release()})`;
  } catch {
    // keep the kernel name
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    os: osName,
    date: new Date().toISOString(),
    loadavg: os.loadavg(),
    memoryMb: Math.round(os.totalmem() / 1024 / 1024),
  };
}

/** Reads a .cpuprofile, keeps its summary for BENCHMARKS.md and returns the limits line. */
function recordProfile(
  name: string,
  scenarioName: string,
  file: string,
  window?: { startUs: number; endUs: number },
): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const summary = summariseProfile(profile, {
    locate: bundleLocator(keepBin()),
    limit: 15,
    window,
  });
  profiles.push({
    name,
    scenario: scenarioName,
    file: file.slice(ROOT.length + 1),
    busyShare: summary.totalMs > 0 ? summary.busyMs / summary.totalMs : 0,
    areas: summary.areas.map((a) => ({ area: a.area, share: a.share })),
    top: summary.top.map((f) => ({ name: f.name, area: f.area, share: f.share })),
  });
  const line = limitsLine(summary);
  profileLimits.set(scenarioName, line);
  log(`profile ${name}: ${line}`);
  return line;
}

/**
 * The main thread's .cpuprofile in `dir`. Node writes one per thread (tsx's
 * loader runs on a worker), named CPU.<date>.<time>.<pid>.<thread>.<seq>;
 * the main thread is 0.
 */
function newestProfile(dir: string): string {
  const found = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const main = found.filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  const pick = main.pop() ?? found.pop();
  if (!pick) throw new Error(`no .cpuprofile written in ${dir}`);
  return join(dir, pick);
}

async function main(): Promise<number> {
  const wrk = findWrk();
  if (!wrk) {
    const bar = '*'.repeat(78);
    process.stderr.write(
      `\n${bar}\n*** wrk is NOT installed: the bench drives load with Debian's 'wrk' package.\n` +
        `*** Install it: npm run bench:setup  (runs bench/setup.sh: apt-get install -y wrk, as root)\n` +
        `*** Nothing was measured and nothing was installed.\n${bar}\n\n`,
    );
    return 2;
  }
  if (!existsSync(DIST_BIN)) {
    process.stderr.write(`dist/keep.mjs is missing: run npm run build (npm run bench does)\n`);
    return 2;
  }
  snapshotKeepBundle();
  mkdirSync(PROFILES, { recursive: true });

  const tmp = mkdtempSync(join(os.tmpdir(), 'keep-bench-'));
  const mach = machine();
  log(
    `${QUICK ? 'quick' : 'full'} run; ${mach.cpu}, ${mach.cores} cores, node ${mach.node}; scratch ${tmp}`,
  );
  const servers: KeepServer[] = [];
  const track = <T extends KeepServer>(s: T) => {
    servers.push(s);
    return s;
  };

  try {
    // ---- ceilings, running for the whole run -------------------------------------------
    const nodeHttp = track(await startCeiling('node-http'));
    const fastify = track(await startCeiling('fastify'));
    const ceilingIdleKb = await settledRss(nodeHttp.pid);

    // ---- data sets -----------------------------------------------------------------------
    const datasets = async () => {
      let t = performance.now();
      const small = await createDataset(join(tmp, 'small'), { policies: 1000, mounts: 100 });
      await addSecrets(small, CFG.small);
      log(
        `data set small: ${CFG.small} secrets, 1000 policies, 100 mounts (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      cpSync(join(tmp, 'small'), join(tmp, 'write'), { recursive: true });
      const write: Dataset = { ...small, dir: join(tmp, 'write') };
      cpSync(join(tmp, 'small'), join(tmp, 'audit'), { recursive: true });
      const audited: Dataset = { ...small, dir: join(tmp, 'audit') };
      t = performance.now();
      const big = await createDataset(join(tmp, 'big'), { policies: 1000, mounts: 100 });
      await addSecrets(big, CFG.startup);
      log(
        `data set big: ${CFG.startup} secrets (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      return { small, write, audited, big };
    };
    const { small, write, audited, big } = await datasets();

    // ---- startup -------------------------------------------------------------------------
    /** Starts Keep on a fixed port, times sealed health and unseal → active, then stops it. */
    const probeKeep = async (ds: Dataset, nodeArgs: string[] = []) => {
      const port = await freePort();
      const config = writeKeepConfig(ds.dir, port);
      const health = `http://127.0.0.1:${port}/v1/sys/health`;
      const t0 = performance.now();
      const proc = launchNode({
        script: keepBin(),
        args: ['server', `-config=${config}`],
        nodeArgs,
        cwd: ds.dir,
        env: { KEEP_LOG_LEVEL: 'warn' },
      });
      try {
        const sealed = await waitForAnswer(health, t0);
        const t1 = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/v1/sys/unseal`, {
          method: 'PUT',
          body: JSON.stringify({ key: ds.unsealKey }),
        });
        await res.arrayBuffer();
        const active = await waitForAnswer(health, t1, { status: 200 });
        return { sealedMs: sealed.ms, sealedStatus: sealed.status, activeMs: active.ms };
      } finally {
        await proc.stop();
      }
    };

    await scenario('startup', async () => {
      const runs = [];
      const ceil = [];
      for (let i = 0; i < CFG.probes; i++) {
        runs.push(await probeKeep(big));
        ceil.push(await probeCeilingStart());
        log(
          `startup probe ${i + 1}: sealed health ${runs[i]!.sealedMs.toFixed(0)} ms (${runs[i]!.sealedStatus}), ` +
            `unseal→active ${runs[i]!.activeMs.toFixed(0)} ms; bare node:http start ${ceil[i]!.toFixed(0)} ms`,
        );
      }
      if (runs.some((r) => r.sealedStatus !== 503))
        throw new Error('sealed sys/health did not answer 503');
      const secretsNote = QUICK
        ? `quick mode: ${CFG.startup.toLocaleString('en-US')} secrets stored, not 100,000 (the full run uses 100,000)`
        : `${CFG.startup.toLocaleString('en-US')} secrets stored`;
      rows.push(
        makeRow({
          scenario: 'startup',
          metric: 'process start → sealed sys/health',
          value: median(runs.map((r) => r.sealedMs)),
          unit: 'ms',
          ceiling: median(ceil),
          ceilingName: 'bare node:http process start → first answer',
          goal: { on: 'value', op: '<=', bound: 1000 },
          note: `${secretsNote}, 1,001 policies, 100 kv-v2 mounts; median of ${CFG.probes} starts`,
          rounds: { value: runs.map((r) => r.sealedMs), ceiling: ceil },
        }),
        makeRow({
          scenario: 'startup',
          metric: 'unseal → active (health 200)',
          value: median(runs.map((r) => r.activeMs)),
          unit: 'ms',
          goal: { on: 'value', op: '<=', bound: 1000 },
          note: `${secretsNote}, 1,001 policies, 100 kv-v2 mounts; timed from sending the one unseal share`,
          rounds: { value: runs.map((r) => r.activeMs), ceiling: [] },
        }),
      );
    });

    if (CFG.big > CFG.startup && (wanted('memory') || wanted('scale'))) {
      const t = performance.now();
      await addSecrets(big, CFG.big);
      log(
        `data set big: now ${CFG.big} secrets (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      await scenario('startup', async () => {
        const r = await probeKeep(big);
        rows.push(
          makeRow({
            scenario: 'startup',
            metric: `process start → sealed sys/health, ${CFG.big.toLocaleString('en-US')} secrets`,
            value: r.sealedMs,
            unit: 'ms',
            note: 'one start, for context: the goal is stated at 100,000 secrets',
          }),
          makeRow({
            scenario: 'startup',
            metric: `unseal → active, ${CFG.big.toLocaleString('en-US')} secrets`,
            value: r.activeMs,
            unit: 'ms',
            note: 'one start, for context',
          }),
        );
      });
    }

    // ---- the product servers -------------------------------------------------------------
    const needSmall = ['kv2-read-noaudit', 'kv2-read', 'scale', 'memory'].some(wanted);
    const keepSmall = needSmall ? track(await startKeep(small.dir)) : undefined;
    let smallToken = '';
    let smallIdleKb = 0;
    if (keepSmall) {
      await unseal(keepSmall, small);
      smallIdleKb = await settledRss(keepSmall.pid);
      smallToken = await benchToken(keepSmall.base, small.rootToken);
      await expectOk(
        `${keepSmall.base}/v1/${'secret/data/'}${SECRET_PREFIX}0`,
        { headers: { 'X-Vault-Token': smallToken } },
        'bench read',
      );
    }
    const needBig = ['scale', 'memory'].some(wanted);
    const keepBig = needBig ? track(await startKeep(big.dir)) : undefined;
    let bigToken = '';
    let bigIdleKb = 0;
    if (keepBig) {
      await unseal(keepBig, big);
      bigIdleKb = await settledRss(keepBig.pid);
      bigToken = await benchToken(keepBig.base, big.rootToken);
    }

    const readRun = (base: string, token: string, count: number, samplePid?: number) => () =>
      load({
        base,
        method: 'GET',
        path: `/v1/secret/data/${SECRET_PREFIX}`,
        count,
        token,
        samplePid,
      });

    const warm = async (...runs: (() => Promise<unknown>)[]) => {
      for (const run of runs) await run();
    };
    const warmRun = (base: string, token: string, count: number) => () =>
      load({
        base,
        method: 'GET',
        path: `/v1/secret/data/${SECRET_PREFIX}`,
        count,
        token,
        durationS: CFG.warmupS,
      });

    /** Starts Keep on the audit copy of the small data set with `file` audit enabled. */
    const startAudited = async (nodeArgs: string[] = []) => {
      const s = await startKeep(audited.dir, { nodeArgs });
      await unseal(s, audited);
      // The device is stored: a second start on the same data finds it enabled.
      const enabled = await api(s.base, 'PUT', 'sys/audit/file', {
        token: audited.rootToken,
        body: { type: 'file', options: { file_path: join(audited.dir, 'audit.log') } },
        expect: [200, 204, 400],
      });
      if (enabled.status === 400 && !JSON.stringify(enabled.json).includes('already in use')) {
        throw new Error(`enabling the file audit device: ${JSON.stringify(enabled.json)}`);
      }
      return { server: s, token: await benchToken(s.base, audited.rootToken) };
    };
    // ---- kv2-read-noaudit ------------------------------------------------------------------
    // kv2-read (the same read with a file audit device on) runs in the same rounds, so both
    // share the ceilings' runs.
    let peakLoadKb = 0;
    let audited_: Awaited<ReturnType<typeof startAudited>> | undefined;
    if (wanted('kv2-read')) {
      try {
        audited_ = await startAudited();
        track(audited_.server);
        await expectOk(
          `${audited_.server.base}/v1/secret/data/${SECRET_PREFIX}0`,
          { headers: { 'X-Vault-Token': audited_.token } },
          'audited read',
        );
      } catch (err) {
        await scenario('kv2-read', async () => {
          throw err;
        });
        audited_ = undefined;
      }
    }
    const withAudit = audited_;
    await scenario(wanted('kv2-read-noaudit') ? 'kv2-read-noaudit' : 'kv2-read', async () => {
      if (!keepSmall) throw new Error('no server');
      const count = CFG.small;
      await warm(
        warmRun(keepSmall.base, smallToken, count),
        warmRun(nodeHttp.base, smallToken, count),
        warmRun(fastify.base, smallToken, count),
        ...(withAudit ? [warmRun(withAudit.server.base, withAudit.token, count)] : []),
      );
      const dbFile = join(small.dir, 'data', 'keep.db');
      const rawRuns: number[] = [];
      const r = await alternate(
        'kv2-read-noaudit',
        {
          keep: readRun(keepSmall.base, smallToken, count, keepSmall.pid),
          'node:http': readRun(nodeHttp.base, smallToken, count),
          fastify: readRun(fastify.base, smallToken, count),
          'raw-sqlite': async () => {
            const ops = rawKvReads(dbFile, small.secretMountUuid, SECRET_PREFIX, count, CFG.rawS);
            rawRuns.push(ops);
            return { rps: ops } as WrkOutcome;
          },
          ...(withAudit
            ? { 'keep, file audit': readRun(withAudit.server.base, withAudit.token, count) }
            : {}),
        },
        (w) => (w.latencyMs ? showRps(w) : `${Math.round(w.rps)} op/s`),
      );
      peakLoadKb = Math.max(...r.keep!.map((w) => w.peakRssKb));
      const keepRps = r.keep!.map(rpsOf);
      const hRps = r['node:http']!.map(rpsOf);
      const fRps = r.fastify!.map(rpsOf);
      rows.push(
        makeRow({
          scenario: 'kv2-read-noaudit',
          metric: 'throughput',
          value: median(keepRps),
          unit: 'req/s',
          ceiling: median(hRps),
          ceilingName: 'H: bare node:http JSON route',
          goal: { on: 'ratio', op: '>=', bound: 0.7 },
          note: `GET secret/data/${SECRET_PREFIX}N, N random below ${count}, token with one 20-rule policy (not root), SQLite, ${CONNECTIONS} connections`,
          rounds: { value: keepRps, ceiling: hRps },
        }),
        makeRow({
          scenario: 'kv2-read-noaudit',
          metric: 'throughput vs bare fastify',
          value: median(keepRps),
          unit: 'req/s',
          ceiling: median(fRps),
          ceilingName: 'bare fastify route, no shim',
          rounds: { value: keepRps, ceiling: fRps },
        }),
        makeRow({
          scenario: 'kv2-read-noaudit',
          metric: 'p99 latency',
          value: median(r.keep!.map((w) => w.latencyMs.p99)),
          unit: 'ms',
          ceiling: median(r['node:http']!.map((w) => w.latencyMs.p99)),
          ceilingName: 'H p99',
          goal: { on: 'value', op: '<=', bound: 20 },
          note: `wrk's latency distribution at ${CONNECTIONS} connections, median over rounds`,
          rounds: {
            value: r.keep!.map((w) => w.latencyMs.p99),
            ceiling: r['node:http']!.map((w) => w.latencyMs.p99),
          },
        }),
        makeRow({
          scenario: 'kv2-read-noaudit',
          metric: 'throughput vs raw SQLite reads',
          value: median(keepRps),
          unit: 'req/s',
          ceiling: median(rawRuns),
          ceilingName: 'raw better-sqlite3: the 2 point selects of a KV v2 read, in-process',
          rounds: { value: keepRps, ceiling: rawRuns },
        }),
      );
      if (withAudit) {
        const audit = r['keep, file audit']!.map(rpsOf);
        const logFile = join(audited.dir, 'audit.log');
        const logBytes = existsSync(logFile) ? readFileSync(logFile).length : 0;
        if (logBytes === 0) throw new Error('the file audit device wrote nothing');
        rows.push(
          makeRow({
            scenario: 'kv2-read',
            metric: 'throughput with file audit on',
            value: median(audit),
            unit: 'req/s',
            ceiling: median(hRps),
            ceilingName: 'H: bare node:http JSON route',
            goal: { on: 'ratio', op: '>=', bound: 0.7 },
            note:
              'as kv2-read-noaudit, with a `file` audit device (request and response entries, ' +
              `HMAC'd), in the same rounds; the log grew to ${(logBytes / 1024 / 1024).toFixed(0)} MB`,
            rounds: { value: audit, ceiling: hRps },
          }),
          makeRow({
            scenario: 'kv2-read',
            metric: 'throughput, audit on vs off',
            value: median(audit),
            unit: 'req/s',
            ceiling: median(keepRps),
            ceilingName: 'the same read on Keep without audit',
            rounds: { value: audit, ceiling: keepRps },
          }),
          makeRow({
            scenario: 'kv2-read',
            metric: 'p99 latency with file audit on',
            value: median(r['keep, file audit']!.map((w) => w.latencyMs.p99)),
            unit: 'ms',
            ceiling: median(r['node:http']!.map((w) => w.latencyMs.p99)),
            ceilingName: 'H p99',
            rounds: {
              value: r['keep, file audit']!.map((w) => w.latencyMs.p99),
              ceiling: r['node:http']!.map((w) => w.latencyMs.p99),
            },
          }),
        );
      }
    });
    if (withAudit) {
      await withAudit.server.stop();
      servers.splice(servers.indexOf(withAudit.server), 1);
    }

    // ---- scale -----------------------------------------------------------------------------
    let afterLoad: { small: number; big: number; peakSmall: number; peakBig: number } | undefined;
    await scenario('scale', async () => {
      if (!keepSmall || !keepBig) throw new Error('no server');
      await warm(
        warmRun(keepBig.base, bigToken, CFG.big),
        warmRun(keepSmall.base, smallToken, CFG.small),
      );
      const r = await alternate(
        'scale',
        {
          [`keep ${CFG.big}`]: readRun(keepBig.base, bigToken, CFG.big, keepBig.pid),
          'keep 1k': readRun(keepSmall.base, smallToken, CFG.small, keepSmall.pid),
        },
        showRps,
      );
      const bigRuns = r[`keep ${CFG.big}`]!;
      const smallRuns = r['keep 1k']!;
      const n = CFG.big.toLocaleString('en-US');
      rows.push(
        makeRow({
          scenario: 'scale',
          metric: `p50 read latency, ${n} vs 1,000 secrets`,
          value: median(bigRuns.map((w) => w.latencyMs.p50)),
          unit: 'ms',
          ceiling: median(smallRuns.map((w) => w.latencyMs.p50)),
          ceilingName: 'same read with 1,000 secrets',
          goal: { on: 'ratio', op: '<=', bound: 1.2 },
          note:
            `random keys over all stored secrets, ${CONNECTIONS} connections` +
            (QUICK ? `; quick mode: ${n} secrets, not 1,000,000` : ''),
          rounds: {
            value: bigRuns.map((w) => w.latencyMs.p50),
            ceiling: smallRuns.map((w) => w.latencyMs.p50),
          },
        }),
        makeRow({
          scenario: 'scale',
          metric: `read throughput, ${n} vs 1,000 secrets`,
          value: median(bigRuns.map(rpsOf)),
          unit: 'req/s',
          ceiling: median(smallRuns.map(rpsOf)),
          ceilingName: 'same read with 1,000 secrets',
          rounds: { value: bigRuns.map(rpsOf), ceiling: smallRuns.map(rpsOf) },
        }),
      );
      afterLoad = {
        small: await settledRss(keepSmall.pid),
        big: rssKb(keepBig.pid),
        peakSmall: Math.max(...smallRuns.map((w) => w.peakRssKb)),
        peakBig: Math.max(...bigRuns.map((w) => w.peakRssKb)),
      };
    });

    // ---- memory ----------------------------------------------------------------------------
    await scenario('memory', async () => {
      if (!keepSmall || !keepBig) throw new Error('no server');
      const n = CFG.big.toLocaleString('en-US');
      const sizeNote = QUICK ? `; quick mode: ${n} secrets, not 1,000,000` : '';
      rows.push(
        makeRow({
          scenario: 'memory',
          metric: 'RSS idle (unsealed, 1,000 secrets)',
          value: mb(smallIdleKb),
          unit: 'MB',
          ceiling: mb(ceilingIdleKb),
          ceilingName: 'bare node:http process RSS',
          goal: { on: 'value', op: '<=', bound: 100 },
          note: 'VmRSS 1 s after unseal, before any load',
        }),
      );
      if (peakLoadKb > 0) {
        rows.push(
          makeRow({
            scenario: 'memory',
            metric: 'RSS peak under kv2-read load',
            value: mb(peakLoadKb),
            unit: 'MB',
            goal: { on: 'value', op: '<=', bound: 250 },
            note: `highest VmRSS sampled every 200 ms during the kv2-read-noaudit rounds`,
          }),
        );
      }
      rows.push(
        makeRow({
          scenario: 'memory',
          metric: `RSS idle, ${n} vs 1,000 secrets`,
          value: mb(bigIdleKb),
          unit: 'MB',
          ceiling: mb(smallIdleKb),
          ceilingName: 'RSS idle with 1,000 secrets',
          goal: { on: 'ratio', op: '<=', bound: 1.1 },
          note: `"flat" taken as within 10%${sizeNote}`,
        }),
      );
      if (afterLoad) {
        rows.push(
          makeRow({
            scenario: 'memory',
            metric: `RSS after read load, ${n} vs 1,000 secrets`,
            value: mb(afterLoad.big),
            unit: 'MB',
            ceiling: mb(afterLoad.small),
            ceilingName: 'same with 1,000 secrets',
            note:
              `1 s after the scale rounds, which read random keys over all secrets${sizeNote}. ` +
              'Context, not the goal: RSS after load follows when V8 collects garbage and returns ' +
              'pages, which varies from run to run either way; the goal is judged on idle RSS',
          }),
          makeRow({
            scenario: 'memory',
            metric: `RSS peak during the scale rounds, ${n} vs 1,000 secrets`,
            value: mb(afterLoad.peakBig),
            unit: 'MB',
            ceiling: mb(afterLoad.peakSmall),
            ceilingName: 'same load with 1,000 secrets',
            note: 'highest VmRSS sampled every 200 ms under the same read load; context, as above',
          }),
        );
      }
    });
    if (keepBig) {
      await keepBig.stop();
    }

    // ---- kv2-write-durable -------------------------------------------------------------------
    await scenario('kv2-write-durable', async () => {
      const keep = track(await startKeep(write.dir));
      await unseal(keep, write);
      const token = await benchToken(keep.base, write.rootToken);
      const body = '{"data":{"value":"bench-write-%d","owner":"bench"}}';
      const writeRun =
        (base: string, durationS = CFG.durationS) =>
        () =>
          load({
            base,
            method: 'POST',
            path: '/v1/secret/data/bench/w',
            count: 1000,
            token,
            body,
            durationS,
          });
      await expectOk(
        `${keep.base}/v1/secret/data/bench/w0`,
        {
          method: 'POST',
          headers: { 'X-Vault-Token': token },
          body: body.replace('%d', '0'),
        },
        'bench write',
      );
      await warm(writeRun(keep.base, CFG.warmupS), writeRun(nodeHttp.base, CFG.warmupS));
      const rawFile = join(tmp, 'raw-write.db');
      const rawRuns: number[] = [];
      const r = await alternate(
        'kv2-write-durable',
        {
          keep: writeRun(keep.base),
          'node:http': writeRun(nodeHttp.base),
          'raw-sqlite': async () => {
            const ops = rawDurableWrites(rawFile, CFG.rawS);
            rawRuns.push(ops);
            return { rps: ops } as WrkOutcome;
          },
        },
        (w) => (w.latencyMs ? showRps(w) : `${Math.round(w.rps)} commit/s`),
      );
      const keepRps = r.keep!.map(rpsOf);
      const fsync = await countFsyncs(keep, token);
      const hWrite = median(r['node:http']!.map(rpsOf));
      const rawWrite = median(rawRuns);
      const aboveRaw =
        hWrite !== null && rawWrite !== null && rawWrite < 0.25 * hWrite
          ? `. In this run the goal (${Math.round(0.25 * hWrite)} req/s) is above what raw SQLite ` +
            `itself commits durably one write per transaction (${Math.round(rawWrite)}/s): ` +
            'no code above SQLite can meet it without grouping several writes into one commit'
          : '';
      rows.push(
        makeRow({
          scenario: 'kv2-write-durable',
          metric: 'throughput',
          value: median(keepRps),
          unit: 'req/s',
          ceiling: median(r['node:http']!.map(rpsOf)),
          ceilingName: 'H: bare node:http JSON POST route',
          goal: { on: 'ratio', op: '>=', bound: 0.25 },
          note:
            `POST secret/data/bench/wN, N = 0..999 in turn (new version each, 10 kept), ${CONNECTIONS} connections; ` +
            'SQLite in WAL mode with synchronous=FULL (set in src/storage/sqlite.ts; ' +
            "better-sqlite3's compiled default for WAL would be NORMAL), and better-sqlite3 commits " +
            'synchronously before the handler answers, so a write is acknowledged only after the WAL is fsynced' +
            aboveRaw,
          rounds: { value: keepRps, ceiling: r['node:http']!.map(rpsOf) },
        }),
        makeRow({
          scenario: 'kv2-write-durable',
          metric: 'throughput vs raw SQLite durable commits',
          value: median(keepRps),
          unit: 'req/s',
          ceiling: median(rawRuns),
          ceilingName: 'raw better-sqlite3: one WAL+FULL transaction of a KV v2 write, in-process',
          rounds: { value: keepRps, ceiling: rawRuns },
        }),
        makeRow({
          scenario: 'kv2-write-durable',
          metric: 'p99 latency',
          value: median(r.keep!.map((w) => w.latencyMs.p99)),
          unit: 'ms',
          ceiling: median(r['node:http']!.map((w) => w.latencyMs.p99)),
          ceilingName: 'H p99',
        }),
        fsync.count === null
          ? {
              scenario: 'kv2-write-durable',
              metric: 'fsync calls per acknowledged write',
              value: null,
              unit: 'fsync/write',
              ceiling: null,
              ratio: null,
              goal: 'value >= 1',
              met: null,
              note: `not run: ${fsync.why}`,
            }
          : makeRow({
              scenario: 'kv2-write-durable',
              metric: 'fsync calls per acknowledged write',
              value: fsync.count,
              unit: 'fsync/write',
              goal: { on: 'value', op: '>=', bound: 1 },
              note: `strace -c of fsync/fdatasync on the server during ${FSYNC_WRITES} sequential writes`,
            }),
      );
      await keep.stop();
      servers.splice(servers.indexOf(keep), 1);
    });

    // ---- list-verb -------------------------------------------------------------------------
    await scenario('list-verb', async () => {
      const pair = await startPair(join(tmp, 'pair'));
      servers.push(pair.server);
      const shim = `http://127.0.0.1:${pair.shim}`;
      const plain = `http://127.0.0.1:${pair.plain}`;
      const folder = '/v1/secret/metadata/bench/list/';
      await expectOk(
        `${plain}${folder}?list=true`,
        { headers: { 'X-Vault-Token': pair.token } },
        'plain list',
      );
      const listVerb = () => load({ base: shim, method: 'LIST', path: folder, token: pair.token });
      const listGet = () =>
        load({ base: plain, method: 'GET', path: `${folder}?list=true`, token: pair.token });
      const readShim = () =>
        load({
          base: shim,
          method: 'GET',
          path: `/v1/secret/data/${SECRET_PREFIX}`,
          count: 10,
          token: pair.token,
        });
      const readPlain = () =>
        load({
          base: plain,
          method: 'GET',
          path: `/v1/secret/data/${SECRET_PREFIX}`,
          count: 10,
          token: pair.token,
        });
      await warm(listVerb, listGet);
      const r = await alternate(
        'list-verb',
        { 'LIST via shim': listVerb, 'GET ?list=true, no shim': listGet },
        showRps,
      );
      const r2 = await alternate(
        'shim on plain reads',
        { 'GET via shim': readShim, 'GET, no shim': readPlain },
        showRps,
        QUICK ? 1 : CFG.rounds,
      );
      rows.push(
        makeRow({
          scenario: 'list-verb',
          metric: 'throughput',
          value: median(r['LIST via shim']!.map(rpsOf)),
          unit: 'req/s',
          ceiling: median(r['GET ?list=true, no shim']!.map(rpsOf)),
          ceilingName: 'same list as GET ?list=true on the same app without the shim',
          goal: { on: 'ratio', op: '>=', bound: 0.95 },
          note: `LIST secret/metadata/bench/list/ (100 keys), one Core and one fastify app on two ports, ${CONNECTIONS} connections`,
          rounds: {
            value: r['LIST via shim']!.map(rpsOf),
            ceiling: r['GET ?list=true, no shim']!.map(rpsOf),
          },
        }),
        makeRow({
          scenario: 'list-verb',
          metric: 'shim cost on ordinary KV reads',
          value: median(r2['GET via shim']!.map(rpsOf)),
          unit: 'req/s',
          ceiling: median(r2['GET, no shim']!.map(rpsOf)),
          ceilingName: 'same read without the shim',
          rounds: {
            value: r2['GET via shim']!.map(rpsOf),
            ceiling: r2['GET, no shim']!.map(rpsOf),
          },
        }),
      );
      await pair.server.stop();
      servers.splice(servers.indexOf(pair.server), 1);
      // The full run always profiles the shim; the quick run leaves it to the full one.
      if (!QUICK) {
        await profileRun(
          'list-verb',
          'list-verb (LIST through the shim)',
          async (nodeArgs, timed) => {
            const p = await startPair(join(tmp, 'pair-prof'), nodeArgs);
            try {
              await timed(() =>
                load({
                  base: `http://127.0.0.1:${p.shim}`,
                  method: 'LIST',
                  path: folder,
                  token: p.token,
                }),
              );
            } finally {
              await p.server.stop();
            }
          },
        );
      }
    });

    // ---- profiles --------------------------------------------------------------------------
    if (keepSmall) await keepSmall.stop();
    if (wanted('kv2-read-noaudit')) {
      await profileRun('kv2-read-noaudit', 'kv2-read-noaudit', async (nodeArgs, timed) => {
        const s = await startKeep(small.dir, { nodeArgs });
        try {
          await unseal(s, small);
          const token = await benchToken(s.base, small.rootToken);
          await timed(() =>
            load({
              base: s.base,
              method: 'GET',
              path: `/v1/secret/data/${SECRET_PREFIX}`,
              count: CFG.small,
              token,
            }),
          );
        } finally {
          await s.stop();
        }
      });
    }
    if (wanted('kv2-read')) {
      await profileRun('kv2-read', 'kv2-read (file audit on)', async (nodeArgs, timed) => {
        const { server: s, token } = await startAudited(nodeArgs);
        try {
          await timed(() => readRun(s.base, token, CFG.small)());
        } finally {
          await s.stop();
        }
      });
    }
    if (wanted('kv2-write-durable')) {
      await profileRun('kv2-write-durable', 'kv2-write-durable', async (nodeArgs, timed) => {
        const s = await startKeep(write.dir, { nodeArgs });
        try {
          await unseal(s, write);
          const token = await benchToken(s.base, write.rootToken);
          const body = '{"data":{"value":"bench-write-%d","owner":"bench"}}';
          await timed(() =>
            load({
              base: s.base,
              method: 'POST',
              path: '/v1/secret/data/bench/w',
              count: 1000,
              token,
              body,
            }),
          );
        } finally {
          await s.stop();
        }
      });
    }
    const missed = (name: string) => rows.some((r) => r.scenario === name && r.met === false);
    // Profiles of other missed goals: the full run's job (the quick run must stay short).
    if (missed('startup') && !QUICK) {
      await profileRun('startup', 'startup (start, then unseal)', async (nodeArgs) => {
        await probeKeep(big, nodeArgs);
      });
    }
    if (missed('scale') && !QUICK) {
      await profileRun(
        'scale',
        `scale (reads over ${CFG.big} secrets)`,
        async (nodeArgs, timed) => {
          const s = await startKeep(big.dir, { nodeArgs });
          try {
            await unseal(s, big);
            const token = await benchToken(s.base, big.rootToken);
            await timed(() => readRun(s.base, token, CFG.big)());
          } finally {
            await s.stop();
          }
        },
      );
    }
    if (missed('memory') && !QUICK) {
      await heapProfile(small, peakLoadKb > 0);
    }
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }

  // ---- features not built yet ------------------------------------------------------------
  // Each is listed until the bench measures it; the note says whether the feature exists yet.
  const notMeasured: [string, string, string, string, string][] = [
    ['approle-login', 'logins per second', 'req/s', 'AppRole auth method', 'src/auth/approle'],
    [
      'consul-kv-read',
      'Consul KV reads per second',
      'req/s',
      'the Consul KV face',
      'src/config-store/consul',
    ],
    [
      'pki-issue',
      'certificates issued per second',
      'cert/s',
      'the PKI engine (ceiling: raw X.509 signing)',
      'src/engines/pki',
    ],
    ['ha-failover', 'standby takeover time', 's', 'HA', 'src/core/ha.ts'],
    [
      'storage-etcd',
      'kv2 read throughput on etcd',
      'req/s',
      'the etcd storage backend',
      'src/storage/etcd.ts',
    ],
    [
      'storage-postgres',
      'kv2 read throughput on PostgreSQL',
      'req/s',
      'the PostgreSQL storage backend',
      'src/storage/postgresql.ts',
    ],
  ];
  if (!ONLY) {
    for (const [name, metric, unit, feature, source] of notMeasured) {
      const exists = existsSync(join(ROOT, source));
      rows.push({
        scenario: name,
        metric,
        value: null,
        unit,
        ceiling: null,
        ratio: null,
        goal: null,
        met: null,
        note: exists
          ? `not run: the bench has no scenario for ${feature} yet (${source} exists now)`
          : `not run: feature not built yet (${feature})`,
      });
    }
  }

  // ---- limits of missed goals, from the profiles -------------------------------------------
  for (const r of rows) {
    if (r.met !== false) continue;
    const line = profileLimits.get(r.scenario);
    if (line) r.limits = line;
    else if (QUICK)
      r.limits = 'not profiled in the quick run: the full run (npm run bench) profiles it';
  }

  const problems = checkRows(rows);
  if (problems.length) throw new Error(`results are malformed:\n${problems.join('\n')}`);
  const elapsedS = (performance.now() - started) / 1000;
  const report: Report = {
    machine: machine(),
    mode: QUICK ? 'quick' : 'full',
    settings: {
      Load: `wrk -t1 -c${CONNECTIONS}, ${CFG.durationS} s per run, ${CFG.rounds} rounds per scenario (order reversed every other round), ${CFG.warmupS} s warm-up per target`,
      Secrets: `${CFG.small.toLocaleString('en-US')} (small), ${CFG.startup.toLocaleString('en-US')} (start-up), ${CFG.big.toLocaleString('en-US')} (scale, memory)`,
    },
    rows,
    notes: [
      'H is a bare node:http JSON route in its own process (bench/servers/node-http.mjs) answering a body of the size and shape of a KV v2 read; a bare fastify route (bench/servers/fastify.mjs) is shown beside it. Both get exactly the requests Keep gets (same Lua script, same headers).',
      "Keep is the real `dist/keep.mjs server` on SQLite, in its own process, data set made with Keep's own classes (bench/lib/dataset.ts): secrets written through the barrier in KV v2 layout, not through the API.",
      "list-verb runs one Keep Core and one fastify app (Keep's routes) on two ports, one through the LIST shim and one through a plain http.Server with the same request handler (bench/servers/keep-pair.ts).",
      'Raw SQLite ceilings run in the bench process with better-sqlite3, between the HTTP runs.',
      "p99 figures come from wrk's latency histogram (bench/wrk/keep.lua prints them).",
      'Every load run is bounded (-d) and stops by itself; the bench stops only the processes it started, by PID.',
    ],
    profiles,
    elapsedS,
  };
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(rows, null, 2)}\n`);
  if (MARKDOWN) writeFileSync(join(ROOT, 'BENCHMARKS.md'), renderMarkdown(report));

  process.stdout.write(`\n${renderTable(rows)}\n\n`);
  const missed = rows.filter((r) => r.met === false);
  for (const r of missed) {
    process.stdout.write(
      `MISSED ${r.scenario} / ${r.metric}: ${r.limits ?? 'no profile for it in this run'}\n`,
    );
  }
  process.stdout.write(
    `\n${rows.filter((r) => r.met === true).length} goals met, ${missed.length} missed, ` +
      `${rows.filter((r) => r.value === null).length} not run; ${elapsedS.toFixed(0)} s. ` +
      `Wrote bench/results/latest.json${MARKDOWN ? ' and BENCHMARKS.md' : ''}.\n`,
  );
  if (failures.length) {
    process.stdout.write(`FAILED scenarios: ${failures.join(', ')}\n`);
    return 1;
  }
  return 0;
}

// ---- helpers that need the scenario plumbing ------------------------------------------------

const FSYNC_WRITES = 200;

/** Counts fsync-family calls of the server during sequential writes (strace -c). */
async function countFsyncs(
  keep: KeepServer,
  token: string,
): Promise<{ count: number | null; why?: string }> {
  const strace = trackChild(
    spawn(
      'strace',
      [
        '-f',
        '-qq',
        '-c',
        '-e',
        'trace=fsync,fdatasync,sync_file_range,syncfs',
        '-p',
        String(keep.pid),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let out = '';
  strace.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  strace.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const failed = await Promise.race([
    new Promise<string>((r) => strace.once('error', (e) => r(e.message))),
    new Promise<string>((r) => strace.once('exit', () => r(`strace exited: ${out.trim()}`))),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
  ]);
  if (failed) return { count: null, why: `strace unavailable (${failed.split('\n')[0]})` };
  try {
    for (let i = 0; i < FSYNC_WRITES; i++) {
      await api(keep.base, 'POST', `secret/data/bench/fsync-${i}`, {
        token,
        body: { data: { value: String(i) } },
      });
    }
  } finally {
    if (strace.pid !== undefined && strace.exitCode === null) process.kill(strace.pid, 'SIGINT');
    await new Promise((r) => (strace.exitCode === null ? strace.once('exit', r) : r(null)));
  }
  const total = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?total\s*$/m.exec(out);
  const calls = total ? Number(total[1]) : /fsync/.test(out) ? Number.NaN : 0;
  if (Number.isNaN(calls))
    return { count: null, why: `could not read strace output: ${out.slice(0, 200)}` };
  return { count: calls / FSYNC_WRITES };
}

async function probeCeilingStart(): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = launchNode({
    script: join(ROOT, 'bench', 'servers', 'node-http.mjs'),
    env: { PORT: String(port) },
  });
  try {
    return (await waitForAnswer(`http://127.0.0.1:${port}/`, t0)).ms;
  } finally {
    await proc.stop();
  }
}

async function startPair(dir: string, nodeArgs: string[] = []) {
  const s = await spawnNode({
    script: join(ROOT, 'bench', 'servers', 'keep-pair.ts'),
    args: [dir],
    nodeArgs: ['--import', 'tsx', ...nodeArgs],
    ready: /"shim":(\d+),"plain":(\d+),"token":"([^"]+)"/,
    timeoutMs: 60_000,
  });
  const server: KeepServer = {
    ...s,
    port: Number(s.match[1]),
    base: `http://127.0.0.1:${s.match[1]}`,
  };
  return { server, shim: Number(s.match[1]), plain: Number(s.match[2]), token: s.match[3]! };
}

/** Runs `body` against a server started with --cpu-prof and summarises the profile. */
async function profileRun(
  name: string,
  scenarioName: string,
  body: (nodeArgs: string[], timed: <T>(fn: () => Promise<T>) => Promise<T>) => Promise<void>,
): Promise<void> {
  try {
    const dir = join(PROFILES, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    let window: { startUs: number; endUs: number } | undefined;
    // Only the samples taken while `fn` (the load) runs are summarised.
    const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
      const startUs = monotonicUs();
      try {
        return await fn();
      } finally {
        window = { startUs, endUs: monotonicUs() };
      }
    };
    await body(['--cpu-prof', `--cpu-prof-dir=${dir}`], timed);
    recordProfile(scenarioName, name, newestProfile(dir), window);
  } catch (err) {
    log(`!! profile ${name} failed: ${(err as Error).message}`);
    notes.push(
      `The CPU profile of ${name} could not be taken: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}

/**
 * For a missed memory goal: runs Keep with `--heap-prof` (idle after unseal,
 * then under read load when that was measured) and says what the sampled
 * live JS heap at exit holds, next to the RSS.
 */
async function heapProfile(ds: Dataset, underLoad: boolean): Promise<void> {
  const dir = join(PROFILES, 'memory');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const s = await startKeep(ds.dir, { nodeArgs: ['--heap-prof', `--heap-prof-dir=${dir}`] });
    let rss = 0;
    try {
      await unseal(s, ds);
      rss = await settledRss(s.pid);
      if (underLoad) {
        const token = await benchToken(s.base, ds.rootToken);
        const w = await load({
          base: s.base,
          method: 'GET',
          path: `/v1/secret/data/${SECRET_PREFIX}`,
          count: ds.secrets,
          token,
          samplePid: s.pid,
        });
        rss = Math.max(rss, w.peakRssKb);
      }
    } finally {
      await s.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.heapprofile'));
    if (!file) throw new Error('no .heapprofile written');
    const heap = summariseHeapProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), {
      locate: bundleLocator(keepBin()),
    });
    const m = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
    const line =
      `heap profile (node --heap-prof, ${underLoad ? 'idle then read load' : 'idle'}): RSS ${(rss / 1024).toFixed(0)} MB, ` +
      `of which sampled live JS heap ${m(heap.totalBytes)} by area ${heap.areas
        .slice(0, 5)
        .map((a) => `${a.area} ${m(a.bytes)}`)
        .join(
          ', ',
        )}; the rest of RSS is code, V8 internals and native memory (SQLite page cache, OpenSSL, buffers)`;
    profileLimits.set('memory', line);
    log(`profile memory: ${line}`);
  } catch (err) {
    log(`!! heap profile failed: ${(err as Error).message}`);
  }
}

process.exitCode = await main();
