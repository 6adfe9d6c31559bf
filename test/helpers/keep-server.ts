/**
 * Starts the real `keep server` as a child process on a free loopback port,
 * the way a user would, and stops it by its PID.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const KEEP_BIN = join(ROOT, 'dist', 'keep.mjs');

export interface KeepProcess {
  addr: string;
  dir: string;
  proc: ChildProcess;
  /** Every log line the server wrote, for assertions that nothing leaked. */
  output: string[];
  /** `http://127.0.0.1:<port>` of the Consul KV face, when the server runs one. */
  consulAddr?: string;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'keep-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts a server with the given storage stanza; `port 0` picks a free port. */
export async function startKeep(
  opts: {
    storage?: 'inmem' | 'sqlite';
    dir?: string;
    extraConfig?: string;
    /** The server's log level (KEEP_LOG_LEVEL); info unless given. */
    logLevel?: string;
    /** More settings inside the `listener "tcp"` block. */
    listenerExtra?: string;
    /** Leave TLS on (the listener block must then say where its certificate comes from). */
    tls?: boolean;
    /** A whole `storage "..." { }` stanza, in place of `storage` (etcd, postgresql). */
    storageStanza?: string;
    /**
     * Run the Consul KV face on a free port (`consulAddr`); a string adds
     * settings inside its `config_listener "tcp"` block.
     */
    consul?: boolean | string;
  } = {},
): Promise<KeepProcess> {
  const dir = opts.dir ?? tempDir();
  const storage = opts.storageStanza
    ? opts.storageStanza
    : opts.storage === 'inmem'
      ? 'storage "inmem" {}'
      : `storage "sqlite" {\n  path = "${join(dir, 'data')}"\n}`;
  const config = `${storage}
listener "tcp" {
  address     = "127.0.0.1:0"
  ${opts.tls ? '' : 'tls_disable = true'}
  ${opts.listenerExtra ?? ''}
}
${opts.extraConfig ?? ''}
${opts.consul ? consulBlock(opts.consul) : ''}
`;
  writeFileSync(join(dir, 'keep.hcl'), config);
  const started = await spawnKeep(
    ['server', `-config=${join(dir, 'keep.hcl')}`],
    dir,
    opts.logLevel,
    Boolean(opts.consul),
  );
  if (opts.tls) started.addr = started.addr.replace('http://', 'https://');
  return started;
}

/** The `config_listener` block: a free port unless the settings name an address. */
function consulBlock(settings: true | string): string {
  const extra = settings === true ? '' : settings;
  const address = /\baddress\s*=/.test(extra) ? '' : 'address = "127.0.0.1:0"';
  return `config_listener "tcp" {\n  ${address}\n  ${extra}\n}`;
}

/** Starts `keep server -dev` with a known root token. */
export async function startDevKeep(rootToken = 'root'): Promise<KeepProcess> {
  const dir = tempDir();
  return spawnKeep(
    [
      'server',
      '-dev',
      `-dev-root-token-id=${rootToken}`,
      '-dev-listen-address=127.0.0.1:0',
      // Never the default 8500: parallel suites (or a real Consul agent) would collide.
      '-dev-config-listen-address=127.0.0.1:0',
    ],
    dir,
    'info',
    true,
  );
}

async function spawnKeep(
  args: string[],
  dir: string,
  logLevel = 'info',
  expectConsul = false,
): Promise<KeepProcess> {
  const proc = spawn(process.execPath, [KEEP_BIN, ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEEP_LOG_LEVEL: logLevel },
  });
  const output: string[] = [];
  let consulAddr: string | undefined;
  const addr = await new Promise<string>((resolveAddr, reject) => {
    let apiAddr: string | undefined;
    const timer = setTimeout(
      () => reject(new Error(`server did not start:\n${output.join('\n')}`)),
      15000,
    );
    const onLine = (line: string) => {
      output.push(line);
      const m = /"msg":"listening"/.test(line) ? /"port":(\d+)/.exec(line) : null;
      if (m) apiAddr ??= `http://127.0.0.1:${m[1]}`;
      const c = /"msg":"consul kv listening"/.test(line) ? /"port":(\d+)/.exec(line) : null;
      if (c) consulAddr = `http://127.0.0.1:${c[1]}`;
      if (apiAddr && (consulAddr || !expectConsul)) {
        clearTimeout(timer);
        resolveAddr(apiAddr);
      }
    };
    createInterface({ input: proc.stdout! }).on('line', onLine);
    createInterface({ input: proc.stderr! }).on('line', onLine);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output.join('\n')}`));
    });
  });
  return {
    addr,
    dir,
    proc,
    output,
    consulAddr,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      // A server that does not stop within 20 s is killed, so no test hangs on it.
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Debian's interpreter: the pyenv python first on PATH cannot see python3-hvac. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Whether a Debian python module is importable; CI (KEEP_TEST_REQUIRE_ALL=1) must have it. */
export function pythonModuleAvailable(module: string): boolean {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
  return r.status === 0;
}

/** Skip reason for a suite whose Debian package is missing; in CI, a failure instead. */
export function requirePackage(available: boolean, pkg: string): string | false {
  if (available) return false;
  const msg = `Debian package ${pkg} is missing (install: apt-get install ${pkg})`;
  if (process.env.KEEP_TEST_REQUIRE_ALL === '1') throw new Error(`${msg}; CI may skip nothing`);
  process.stderr.write(`\n*** SKIPPING suites that need ${pkg}: ${msg} ***\n\n`);
  return msg;
}
