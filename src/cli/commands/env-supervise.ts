/**
 * `keep env`'s child: started with signals forwarded and its exit code
 * passed through; with watching on, a change in the loaded variables
 * (config through Consul blocking queries, secrets by polling) restarts it
 * (kill signal, then SIGKILL after the timeout) or sends it the reload signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { CliIO } from '../io.ts';

/** Exit codes for a command that could not be started, as a shell reports them. */
const NOT_FOUND = 127;
const NOT_EXECUTABLE = 126;
const FORWARDED: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];

export interface Watch {
  /** Loads the variables again. */
  reload(): Promise<Record<string, string>>;
  /** Config prefixes to follow with blocking queries, and how. */
  configBase: string;
  configPrefixes: string[];
  token: string;
  /** Seconds between polls of the secrets (and a fallback for config). */
  pollSeconds: number;
  killSignal: NodeJS.Signals;
  killTimeoutMs: number;
  reloadSignal?: NodeJS.Signals;
}

export interface SuperviseOptions {
  argv: string[];
  env: (vars: Record<string, string>) => NodeJS.ProcessEnv;
  vars: Record<string, string>;
  io: CliIO;
  watch?: Watch;
}

const sameVars = (a: Record<string, string>, b: Record<string, string>) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** Follows one config prefix with blocking queries; calls `changed` when its index moves. */
async function followPrefix(w: Watch, prefix: string, changed: () => void, stop: AbortSignal) {
  const path = prefix.split('/').map(encodeURIComponent).join('/');
  let index = '0';
  while (!stop.aborted) {
    try {
      const res = await fetch(`${w.configBase}/v1/kv/${path}?recurse&index=${index}&wait=60s`, {
        headers: { 'X-Consul-Token': w.token },
        signal: stop,
      });
      await res.arrayBuffer();
      const next = res.headers.get('x-consul-index') ?? '0';
      if (index !== '0' && next !== index) changed();
      // Consul's rule: an index that went backwards restarts from 0.
      index = BigInt(next) < BigInt(index) ? '0' : next;
      if (next === '0' || res.status >= 500) await sleep(w.pollSeconds * 1000, stop);
    } catch {
      await sleep(w.pollSeconds * 1000, stop);
    }
  }
}

export function supervise(o: SuperviseOptions): Promise<number> {
  const { io, watch } = o;
  let vars = o.vars;
  let child: ChildProcess;
  let restarting = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = new AbortController();

  return new Promise((resolve) => {
    const handlers = FORWARDED.map((sig) => {
      const handler = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      process.on(sig, handler);
      return [sig, handler] as const;
    });
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      stop.abort();
      clearTimeout(killTimer);
      for (const [sig, handler] of handlers) process.off(sig, handler);
      resolve(code);
    };

    const start = () => {
      child = spawn(o.argv[0]!, o.argv.slice(1), { stdio: 'inherit', env: o.env(vars) });
      child.once('error', (err: NodeJS.ErrnoException) => {
        const what = o.argv[0];
        if (err.code === 'ENOENT') io.stderr(`keep env: command not found: ${what}\n`);
        else if (err.code === 'EACCES')
          io.stderr(`keep env: cannot execute ${what}: permission denied\n`);
        else io.stderr(`keep env: cannot start ${what}: ${err.message}\n`);
        finish(err.code === 'ENOENT' ? NOT_FOUND : NOT_EXECUTABLE);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(killTimer);
        if (restarting && !finished) {
          restarting = false;
          start();
          return;
        }
        finish(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
      });
    };
    start();

    if (!watch) return;
    let queue = Promise.resolve();
    let warned = false;
    const changed = () => {
      queue = queue.then(async () => {
        if (finished) return;
        let next: Record<string, string>;
        try {
          next = await watch.reload();
        } catch (err) {
          // Keep the child running on the values it has; say so once.
          if (!warned) io.stderr(`keep env: could not reload: ${(err as Error).message}\n`);
          warned = true;
          return;
        }
        warned = false;
        if (finished || sameVars(next, vars)) return;
        vars = next;
        if (watch.reloadSignal) {
          io.stderr(`keep env: values changed; sending ${watch.reloadSignal}\n`);
          child.kill(watch.reloadSignal);
          return;
        }
        io.stderr('keep env: values changed; restarting the command\n');
        restarting = true;
        child.kill(watch.killSignal);
        killTimer = setTimeout(() => child.kill('SIGKILL'), watch.killTimeoutMs);
      });
    };
    for (const prefix of watch.configPrefixes)
      void followPrefix(watch, prefix, changed, stop.signal);
    const poll = setInterval(changed, watch.pollSeconds * 1000);
    stop.signal.addEventListener('abort', () => clearInterval(poll));
  });
}
