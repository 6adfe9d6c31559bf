/**
 * Real etcd and PostgreSQL servers for the tests, from Debian's packages:
 * started on free loopback ports with their data in a temporary folder,
 * and stopped by their PIDs. Nothing here is a stand-in.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = '/usr/bin/etcd';
const PG_BIN_DIRS = ['/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

export function etcdAvailable(): boolean {
  return existsSync(ETCD_BIN);
}

export function postgresBinDir(): string | undefined {
  return PG_BIN_DIRS.find((dir) => existsSync(join(dir, 'postgres')));
}

/** A free TCP port on 127.0.0.1 (closed again at once; the caller binds it next). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, ms: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${ms} ms`);
}

async function stopChild(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exited = new Promise((r) => proc.once('exit', r));
  process.kill(proc.pid, signal);
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

// ---- etcd ---------------------------------------------------------------------------------

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc?: ChildProcess;
}

export interface EtcdCluster {
  /** Client URLs of every member, for `address = "..."`. */
  endpoints: string[];
  members: EtcdMember[];
  /** Kills one member with a signal (SIGKILL by default), by its PID. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped member again on its ports and data. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts an etcd cluster of `size` members on loopback. `--max-txn-ops`
 * is raised from etcd's 128 so the conformance suite's larger transactions
 * fit; production clusters set it to what their largest Keep transaction needs.
 */
export async function startEtcd(size = 1): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), 'keep-etcd-'));
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(root, `m${i}`),
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const output: string[] = [];

  const launch = (m: EtcdMember) => {
    m.proc = spawn(
      ETCD_BIN,
      [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=${m.clientUrl}`,
        `--advertise-client-urls=${m.clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=keep-test',
        '--max-txn-ops=4096',
        '--heartbeat-interval=100',
        '--election-timeout=1000',
        '--log-level=error',
        '--logger=zap',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    m.proc.stderr!.on('data', (chunk: Buffer) => {
      if (output.length < 200) output.push(chunk.toString());
    });
  };
  const healthy = async (m: EtcdMember) => {
    const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  };

  for (const m of members) launch(m);
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientUrl),
    members,
    async kill(index, signal = 'SIGKILL') {
      const m = members[index]!;
      if (m.proc) await stopChild(m.proc, signal);
    },
    async restart(index) {
      const m = members[index]!;
      launch(m);
      await waitFor(`etcd member ${m.name}`, 20_000, () => healthy(m));
    },
    async stop() {
      await Promise.all(members.map((m) => (m.proc ? stopChild(m.proc) : undefined)));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('etcd', 20_000, async () => {
      for (const m of members) if (!(await healthy(m))) return false;
      return true;
    });
  } catch (err) {
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${output.join('')}`);
  }
  return cluster;
}

// ---- PostgreSQL ---------------------------------------------------------------------------

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  pid(): number | undefined;
  /** Kills the postmaster (SIGKILL by default) by its PID. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** A new database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A throw-away PostgreSQL cluster: `initdb` into a temporary folder and the
 * `postgres` binary run directly as a child on a loopback port. As root both
 * run as the `postgres` user (PostgreSQL refuses to run as root).
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found');
  const root = mkdtempSync(join(tmpdir(), 'keep-pg-'));
  const dataDir = join(root, 'data');
  const port = await freePort();

  let ids: { uid?: number; gid?: number } = {};
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no postgres user');
    ids = { uid, gid };
    chownSync(root, uid, gid);
  }
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '-N'],
    { ...ids, encoding: 'utf8', cwd: root },
  );
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }

  let proc: ChildProcess | undefined;
  const output: string[] = [];
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // fsync=off survives a killed server (the OS still has the pages), not a
  // power cut; synchronous_commit stays on, or a kill loses acknowledged commits.
  const launch = () => {
    proc = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${root}`,
        '-c',
        'max_connections=200',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      { ...ids, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr!.on('data', (chunk: Buffer) => {
      if (output.length < 200) output.push(chunk.toString());
    });
  };
  const ready = async () => {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => {});
    }
  };
  launch();
  const server: PostgresServer = {
    url,
    port,
    pid: () => proc?.pid,
    async kill(signal = 'SIGKILL') {
      if (proc) await stopChild(proc, signal);
    },
    async restart() {
      launch();
      await waitFor('postgres', 30_000, ready);
    },
    async createDatabase(name) {
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async stop() {
      // SIGINT is PostgreSQL's "fast" shutdown: children end, then the postmaster.
      if (proc) await stopChild(proc, 'SIGINT');
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('postgres', 30_000, ready);
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n${output.join('')}`);
  }
  return server;
}

// ---- haproxy ------------------------------------------------------------------------------

export const HAPROXY_BIN = '/usr/sbin/haproxy';

export function haproxyAvailable(): boolean {
  return existsSync(HAPROXY_BIN);
}

export interface Haproxy {
  /** `http://127.0.0.1:<port>`: the front end clients use. */
  addr: string;
  stop(): Promise<void>;
}

/**
 * Debian's haproxy in the foreground on a loopback port, balancing over
 * `servers` (`http://127.0.0.1:port` each) and sending traffic only to those
 * whose `GET /v1/sys/health` answers 200: the active Keep node. Checked every
 * 250 ms; one failed check takes a server out, one good one puts it back.
 */
export async function startHaproxy(servers: string[]): Promise<Haproxy> {
  const root = mkdtempSync(join(tmpdir(), 'keep-haproxy-'));
  const port = await freePort();
  const lines = servers.map((s, i) => `  server keep${i} ${new URL(s).host} check`);
  const config = `global
  maxconn 512
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
frontend api
  bind 127.0.0.1:${port}
  default_backend keep
backend keep
  option httpchk GET /v1/sys/health
  http-check expect status 200
  default-server inter 250ms fall 1 rise 1
${lines.join('\n')}
`;
  const file = join(root, 'haproxy.cfg');
  writeFileSync(file, config);
  const output: string[] = [];
  const proc = spawn(HAPROXY_BIN, ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [proc.stdout!, proc.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      if (output.length < 200) output.push(chunk.toString());
    });
  }
  const addr = `http://127.0.0.1:${port}`;
  const haproxy: Haproxy = {
    addr,
    async stop() {
      await stopChild(proc);
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('haproxy', 10_000, async () => {
      if (proc.exitCode !== null) throw new Error('haproxy exited');
      const res = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return true;
    });
  } catch (err) {
    await haproxy.stop();
    throw new Error(`${(err as Error).message}\n${output.join('')}`);
  }
  return haproxy;
}
