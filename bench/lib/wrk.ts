/**
 * Drives Debian's `wrk` from a second process and reads what it printed.
 * Every run is bounded: wrk stops itself after `-d`, and a run that
 * overstays that by 15 s is killed by its PID.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { rssKb, trackChild } from './procs.ts';

export const WRK_SCRIPT = join(import.meta.dirname, '..', 'wrk', 'keep.lua');

export interface WrkLatency {
  mean: number;
  max: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  /** Only from the script's JSON line; NaN when parsed from text. */
  p999: number;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  /** Requests per second over the whole run. */
  rps: number;
  /** Milliseconds. */
  latencyMs: WrkLatency;
  /** Responses outside 2xx/3xx. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `1.23ms`, `456.00us`, `2.00s` → milliseconds. */
export function parseWrkDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`not a wrk duration: ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/**
 * Reads wrk's output. The `KEEP_WRK_JSON` line that bench/wrk/keep.lua's
 * done() prints is preferred (exact microsecond figures, p99.9); without it
 * the human text of `wrk --latency` is parsed.
 */
export function parseWrkOutput(text: string): WrkResult {
  const json = /^KEEP_WRK_JSON (\{.*\})\s*$/m.exec(text);
  if (json) {
    const j = JSON.parse(json[1]!) as {
      requests: number;
      duration_us: number;
      errors: { connect: number; read: number; write: number; status: number; timeout: number };
      latency_us: Record<'mean' | 'max' | 'p50' | 'p75' | 'p90' | 'p99' | 'p999', number>;
    };
    const durationS = j.duration_us / 1e6;
    const ms = (us: number) => us / 1000;
    return {
      requests: j.requests,
      durationS,
      rps: durationS > 0 ? j.requests / durationS : 0,
      latencyMs: {
        mean: ms(j.latency_us.mean),
        max: ms(j.latency_us.max),
        p50: ms(j.latency_us.p50),
        p75: ms(j.latency_us.p75),
        p90: ms(j.latency_us.p90),
        p99: ms(j.latency_us.p99),
        p999: ms(j.latency_us.p999),
      },
      non2xx: j.errors.status,
      socketErrors: {
        connect: j.errors.connect,
        read: j.errors.read,
        write: j.errors.write,
        timeout: j.errors.timeout,
      },
    };
  }

  const total = /^\s*(\d+) requests in ([\d.]+\w+),/m.exec(text);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (!total || !rps) throw new Error(`wrk printed no summary:\n${text}`);
  const lat = /^\s*Latency\s+(\S+)\s+\S+\s+(\S+)/m.exec(text);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(text);
    return m ? parseWrkDuration(m[1]!) : Number.NaN;
  };
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(total[1]),
    durationS: parseWrkDuration(total[2]!) / 1000,
    rps: Number(rps[1]),
    latencyMs: {
      mean: lat ? parseWrkDuration(lat[1]!) : Number.NaN,
      max: lat ? parseWrkDuration(lat[2]!) : Number.NaN,
      p50: pct('50'),
      p75: pct('75'),
      p90: pct('90'),
      p99: pct('99'),
      p999: Number.NaN,
    },
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock
      ? {
          connect: Number(sock[1]),
          read: Number(sock[2]),
          write: Number(sock[3]),
          timeout: Number(sock[4]),
        }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

/** The path of wrk, or undefined when it is not installed. */
export function findWrk(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
}

export interface WrkRun {
  /** `http://127.0.0.1:PORT`; only loopback is accepted. */
  base: string;
  method: 'GET' | 'LIST' | 'POST' | 'PUT';
  /** Path, or a prefix when `count` > 0 (see keep.lua). */
  path: string;
  count?: number;
  token?: string;
  body?: string;
  connections: number;
  durationS: number;
  threads?: number;
  /** Samples this process's RSS every 200 ms during the run. */
  samplePid?: number;
}

export interface WrkOutcome extends WrkResult {
  /** Highest RSS of `samplePid` seen during the run, in KiB (0 when not sampled). */
  peakRssKb: number;
}

export async function runWrk(run: WrkRun): Promise<WrkOutcome> {
  const url = new URL(run.base);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' && url.hostname !== '[::1]') {
    throw new Error(`bench load goes to loopback only, not ${url.hostname}`);
  }
  const args = [
    `-t${run.threads ?? 1}`,
    `-c${run.connections}`,
    `-d${run.durationS}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    WRK_SCRIPT,
    run.base,
    '--',
    run.method,
    run.path,
    String(run.count ?? 0),
    run.token ?? '',
    run.body ?? '',
  ];
  const child = trackChild(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let peak = 0;
  const sampler =
    run.samplePid !== undefined
      ? setInterval(() => {
          peak = Math.max(peak, rssKb(run.samplePid!));
        }, 200)
      : undefined;
  const guard = setTimeout(
    () => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    },
    (run.durationS + 15) * 1000,
  );
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  clearTimeout(guard);
  if (sampler) clearInterval(sampler);
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${out}`);
  return { ...parseWrkOutput(out), peakRssKb: peak };
}
