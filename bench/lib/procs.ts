/**
 * The processes a bench run starts: Keep servers and ceiling servers, each a
 * child of this process on a loopback port. Each is remembered by its PID
 * and stopped by that PID only (SIGTERM, then SIGKILL after 10 s), also
 * when the run is interrupted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DIST_BIN = join(ROOT, 'dist', 'keep.mjs');
const SNAPSHOT_DIR = join(ROOT, 'bench', 'results', 'bundle');

let keepBinPath = DIST_BIN;

/** The Keep bundle the bench starts: dist/keep.mjs, or its snapshot once taken. */
export function keepBin(): string {
  return keepBinPath;
}

/**
 * Copies dist/keep.mjs and its source map to bench/results/bundle/ and runs
 * that copy from then on, so a rebuild of dist/ during the run (by tests or
 * other work in the same tree) changes neither the product measured nor the
 * map the profiles are read with. Bare imports still resolve from the
 * project's node_modules, which is above the copy.
 */
export function snapshotKeepBundle(): string {
  mkdirSync(SNAPSHOT_DIR, { recursive: true });
  const target = join(SNAPSHOT_DIR, 'keep.mjs');
  copyFileSync(DIST_BIN, target);
  if (existsSync(`${DIST_BIN}.map`)) copyFileSync(`${DIST_BIN}.map`, `${target}.map`);
  keepBinPath = target;
  return target;
}

const started = new Set<ChildProcess>();

function killAll(): void {
  for (const child of started) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
let cleanupRegistered = false;

/** On exit or interrupt, kill what this process started (registered with the first child). */
function registerCleanup(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** Resident set size of a process in KiB, from /proc; 0 when it cannot be read. */
export function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface Started {
  proc: ChildProcess;
  pid: number;
  /** Every line the process wrote, stdout and stderr. */
  output: string[];
  stop(): Promise<void>;
}

/** Remembers a child (wrk, strace) so an interrupted run kills it by its PID too. */
export function trackChild<T extends ChildProcess>(proc: T): T {
  registerCleanup();
  started.add(proc);
  proc.once('exit', () => started.delete(proc));
  return proc;
}

/** Spawns `node [nodeArgs] script [args]` and returns at once; `waitFor` matches output lines. */
export function launchNode(opts: {
  script: string;
  args?: string[];
  nodeArgs?: string[];
  cwd?: string;
  env?: Record<string, string>;
}): Started & { waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray> } {
  registerCleanup();
  const proc = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), opts.script, ...(opts.args ?? [])],
    {
      cwd: opts.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    },
  );
  started.add(proc);
  proc.once('exit', () => started.delete(proc));
  const output: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const onLine = (line: string) => {
    output.push(line);
    if (output.length > 2000) output.shift();
    for (const w of watchers) w(line);
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  const waitFor = (re: RegExp, timeoutMs = 30_000) =>
    new Promise<RegExpExecArray>((resolveMatch, reject) => {
      for (const line of output) {
        const m = re.exec(line);
        if (m) {
          resolveMatch(m);
          return;
        }
      }
      const done = () => {
        clearTimeout(timer);
        watchers.delete(watcher);
        proc.removeListener('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${opts.script} did not become ready:\n${output.join('\n')}`));
      }, timeoutMs);
      const watcher = (line: string) => {
        const m = re.exec(line);
        if (m) {
          done();
          resolveMatch(m);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`${opts.script} exited (${code ?? signal}):\n${output.join('\n')}`));
      };
      watchers.add(watcher);
      proc.once('exit', onExit);
    });
  if (proc.pid === undefined) throw new Error(`could not start ${opts.script}`);
  return { proc, pid: proc.pid, output, stop: () => stopChild(proc), waitFor };
}

/**
 * Spawns `node [nodeArgs] script [args]` and resolves once a line matches
 * `ready` (its match is returned too); kills it by PID after `timeoutMs`.
 */
export async function spawnNode(opts: {
  script: string;
  args?: string[];
  nodeArgs?: string[];
  cwd?: string;
  env?: Record<string, string>;
  ready: RegExp;
  timeoutMs?: number;
}): Promise<Started & { match: RegExpExecArray }> {
  const s = launchNode(opts);
  try {
    const match = await s.waitFor(opts.ready, opts.timeoutMs);
    return { ...s, match };
  } catch (err) {
    await s.stop();
    throw err;
  }
}

/** SIGTERM by PID, then SIGKILL after 10 s; resolves once the child has exited. */
export async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exited = new Promise((r) => proc.once('exit', r));
  process.kill(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

export interface KeepServer extends Started {
  base: string;
  port: number;
}

/** Writes a config for a SQLite data directory and a fixed (or free) loopback port. */
export function writeKeepConfig(dataDir: string, port: number): string {
  const path = join(dataDir, 'keep.hcl');
  writeFileSync(
    path,
    `storage "sqlite" {\n  path = "${join(dataDir, 'data')}"\n}\n` +
      `listener "tcp" {\n  address     = "127.0.0.1:${port}"\n  tls_disable = true\n}\n` +
      `log_level = "warn"\n`,
  );
  return path;
}

/** Starts the real `dist/keep.mjs server` on a SQLite data directory. */
export async function startKeep(
  dataDir: string,
  opts: { nodeArgs?: string[] } = {},
): Promise<KeepServer> {
  const config = writeKeepConfig(dataDir, 0);
  const s = await spawnNode({
    script: keepBin(),
    args: ['server', `-config=${config}`],
    nodeArgs: opts.nodeArgs,
    cwd: dataDir,
    env: { KEEP_LOG_LEVEL: 'info' },
    ready: /"msg":"listening".*?"port":(\d+)|"port":(\d+).*?"msg":"listening"/,
  });
  const port = Number(s.match[1] ?? s.match[2]);
  return { ...s, port, base: `http://127.0.0.1:${port}` };
}

/** Starts one of the ceiling servers in bench/servers (prints `{"port":N}` when ready). */
export async function startCeiling(name: 'node-http' | 'fastify'): Promise<KeepServer> {
  const s = await spawnNode({
    script: join(ROOT, 'bench', 'servers', `${name}.mjs`),
    ready: /"port":(\d+)/,
  });
  const port = Number(s.match[1]);
  return { ...s, port, base: `http://127.0.0.1:${port}` };
}

/** Polls `url` until it answers with any HTTP status; resolves with ms since `since`. */
export async function waitForAnswer(
  url: string,
  since: number,
  opts: { timeoutMs?: number; status?: number } = {},
): Promise<{ ms: number; status: number }> {
  const deadline = since + (opts.timeoutMs ?? 60_000);
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (opts.status === undefined || res.status === opts.status) {
        return { ms: performance.now() - since, status: res.status };
      }
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${url} did not answer in time`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** JSON over HTTP against a Keep server; throws on an unexpected status. */
export async function api(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; expect?: number[] } = {},
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}/v1/${path}`, {
    method,
    headers: opts.token ? { 'X-Vault-Token': opts.token } : {},
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  const expect = opts.expect ?? [200, 204];
  if (!expect.includes(res.status)) {
    throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  }
  return { status: res.status, json };
}
