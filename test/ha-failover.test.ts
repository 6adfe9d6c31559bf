/**
 * HA end to end: real `keep server` processes (dist/keep.mjs) sharing a real
 * etcd or PostgreSQL. The active node is killed with SIGKILL while a writer
 * sends acknowledged KV writes; the standby must take over and every
 * acknowledged write must read back. Also: standby health codes, forwarding,
 * sys/leader and sys/ha-status, step-down, graceful hand-over, a restarted node
 * joining as standby, and a frozen (SIGSTOP) active stepping down on resume.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { call, health, waitHealth, writeThrough } from './helpers/ha-client.ts';
import { type KeepProcess, removeDir, requirePackage, startKeep } from './helpers/keep-server.ts';
import {
  type EtcdCluster,
  etcdAvailable,
  type PostgresServer,
  postgresBinDir,
  startEtcd,
  startPostgres,
} from './helpers/services.ts';

const LOCK_TTL = '3s';

interface Backend {
  name: string;
  skip: string | false;
  start(): Promise<{
    stanza: () => string;
    stop(): Promise<void>;
    restartDb?: () => Promise<void>;
  }>;
}

const backends: Backend[] = [
  {
    name: 'etcd (3 members)',
    skip: requirePackage(etcdAvailable(), 'etcd-server'),
    async start() {
      const etcd: EtcdCluster = await startEtcd(3);
      const path = `/keep-ha-${randomBytes(4).toString('hex')}/`;
      return {
        stanza: () => `storage "etcd" {
  address      = "${etcd.endpoints.join(',')}"
  path         = "${path}"
  ha_enabled   = "true"
  lock_timeout = "${LOCK_TTL}"
}`,
        stop: () => etcd.stop(),
      };
    },
  },
  {
    name: 'postgresql',
    skip: requirePackage(postgresBinDir() !== undefined, 'postgresql'),
    async start() {
      const pg: PostgresServer = await startPostgres();
      return {
        stanza: () => `storage "postgresql" {
  connection_url = "${pg.url}"
  ha_enabled     = "true"
  lock_timeout   = "${LOCK_TTL}"
}`,
        stop: () => pg.stop(),
        restartDb: async () => {
          await pg.kill('SIGKILL');
          await pg.restart();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`HA on ${backend.name}`, { skip: backend.skip, timeout: 240_000 }, () => {
    let store: Awaited<ReturnType<Backend['start']>>;
    const nodes: KeepProcess[] = [];
    let unsealKey = '';
    let token = '';

    const startNode = async () => {
      const node = await startKeep({ storageStanza: store.stanza(), logLevel: 'info' });
      nodes.push(node);
      return node;
    };
    const unseal = (node: KeepProcess) =>
      call(node.addr, 'PUT', 'sys/unseal', { body: { key: unsealKey } });
    const alive = () => nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);

    before(async () => {
      store = await backend.start();
    });
    after(async () => {
      for (const node of nodes) {
        if (node.proc.pid && node.proc.signalCode === null && node.proc.exitCode === null) {
          process.kill(node.proc.pid, 'SIGCONT');
        }
        await node.stop();
        removeDir(node.dir);
      }
      await store?.stop();
    });

    test('one active, one standby; the standby forwards and reports 429', async () => {
      const a = await startNode();
      const b = await startNode();
      const init = await call(a.addr, 'PUT', 'sys/init', {
        body: { secret_shares: 1, secret_threshold: 1 },
      });
      assert.equal(init.status, 200);
      unsealKey = (init.body.keys_base64 as string[])[0]!;
      token = init.body.root_token as string;

      assert.equal(await health(a.addr), 503, 'sealed before unseal');
      await unseal(a);
      await waitHealth(a.addr, 200);
      await unseal(b);
      await waitHealth(b.addr, 429);

      const standbyHealth = await call(b.addr, 'GET', 'sys/health?standbyok=true');
      assert.equal(standbyHealth.status, 200);
      assert.equal(standbyHealth.body.standby, true);
      assert.equal((await call(b.addr, 'GET', 'sys/health?standbycode=299')).status, 299);

      const leader = await call(b.addr, 'GET', 'sys/leader');
      assert.equal(leader.body.ha_enabled, true);
      assert.equal(leader.body.is_self, false);
      assert.equal(leader.body.leader_address, a.addr);
      assert.equal((await call(a.addr, 'GET', 'sys/leader')).body.is_self, true);

      // Writes sent to the standby are forwarded to the active node.
      const mount = await call(b.addr, 'POST', 'sys/mounts/secret', {
        token,
        body: { type: 'kv', options: { version: '2' } },
      });
      assert.equal(mount.status, 204);
      assert.equal(await writeThrough([b.addr], token, 'via-standby'), true);
      const read = await call(a.addr, 'GET', 'secret/data/via-standby', { token });
      assert.equal((read.body.data as { data: { v: string } }).data.v, 'via-standby');

      // Reads on the standby are never staler than a write acknowledged before them.
      for (let i = 0; i < 30; i++) {
        const w = await call(a.addr, 'POST', 'secret/data/fresh', { token, body: { data: { i } } });
        assert.equal(w.status, 200);
        const r = await call(b.addr, 'GET', 'secret/data/fresh', { token });
        assert.equal((r.body.data as { data: { i: number } }).data.i, i);
      }

      // The active lists both nodes once the standby has echoed.
      let listed: { active_node: boolean; api_address: string }[] = [];
      for (let i = 0; i < 30 && listed.length < 2; i++) {
        const status = await call(b.addr, 'GET', 'sys/ha-status', { token });
        listed = (status.body.data as { nodes: typeof listed }).nodes;
        if (listed.length < 2) await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(
        listed.map((n) => [n.api_address, n.active_node]).sort(),
        [
          [a.addr, true],
          [b.addr, false],
        ].sort(),
      );
    });

    test('SIGKILL of the active: the standby takes over and no acknowledged write is lost', async (t) => {
      const [active, standby] = alive();
      assert.ok(active && standby);
      assert.equal(await health(active.addr), 200);
      const addrs = [active.addr, standby.addr];
      const acknowledged: string[] = [];
      let killedAt = 0;
      let firstAfterKill = 0;
      let failedAfterKill = 0;
      const deadline = Date.now() + 60_000;
      for (let i = 0; Date.now() < deadline; i++) {
        if (i === 40) {
          killedAt = Date.now();
          process.kill(active.proc.pid!, 'SIGKILL');
        }
        const key = `w/${i}`;
        if (await writeThrough(addrs, token, key)) {
          acknowledged.push(key);
          if (killedAt && !firstAfterKill) firstAfterKill = Date.now();
          if (firstAfterKill && acknowledged.length > 80) break;
        } else if (killedAt) {
          failedAfterKill++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok(firstAfterKill > 0, 'writes resumed after the kill');
      assert.equal(await health(standby.addr), 200, 'the standby is active now');
      let lost = 0;
      for (const key of acknowledged) {
        const r = await call(standby.addr, 'GET', `secret/data/${key}`, { token });
        if (r.status !== 200) lost++;
      }
      const failoverMs = firstAfterKill - killedAt;
      t.diagnostic(
        `${backend.name}: kill -9 → first acknowledged write ${failoverMs} ms (lock TTL ${LOCK_TTL}); ` +
          `${acknowledged.length} acknowledged, ${lost} lost, ${failedAfterKill} refused during failover`,
      );
      assert.equal(lost, 0, 'every acknowledged write survives');
      assert.ok(failoverMs < 15_000, `failover took ${failoverMs} ms`);
    });

    test('a restarted node comes back sealed and joins as standby after unseal', async () => {
      const node = await startNode();
      assert.equal(await health(node.addr), 503);
      await unseal(node);
      await waitHealth(node.addr, 429);
    });

    test('sys/step-down hands the lock to the standby', async (t) => {
      const [, active, standby] = nodes;
      assert.equal(await health(active!.addr), 200);
      const started = Date.now();
      const r = await call(standby!.addr, 'PUT', 'sys/step-down', { token });
      assert.equal(r.status, 204);
      await waitHealth(standby!.addr, 200);
      t.diagnostic(`${backend.name}: step-down → standby active in ${Date.now() - started} ms`);
      await waitHealth(active!.addr, 429);
    });

    test('SIGTERM of the active hands over at once (graceful shutdown)', async (t) => {
      const [, standby, active] = nodes;
      assert.equal(await health(active!.addr), 200);
      const started = Date.now();
      await active!.stop();
      await waitHealth(standby!.addr, 200, 5000);
      const ms = Date.now() - started;
      t.diagnostic(`${backend.name}: SIGTERM → standby active in ${ms} ms`);
      assert.ok(ms < 3000, `graceful hand-over took ${ms} ms`);
      assert.equal(await writeThrough([standby!.addr], token, 'after-sigterm'), true);
    });

    test('a frozen active (SIGSTOP) is replaced, and on resume it steps down', async (t) => {
      const frozen = nodes[1]!;
      const other = await startNode();
      await unseal(other);
      await waitHealth(other.addr, 429);
      assert.equal(await health(frozen.addr), 200);

      process.kill(frozen.proc.pid!, 'SIGSTOP');
      const started = Date.now();
      // A write sent to the frozen node waits in its socket until it resumes.
      const held = call(frozen.addr, 'POST', 'secret/data/held-while-frozen', {
        token,
        body: { data: { v: 'held' } },
        timeoutMs: 30_000,
      }).catch(() => ({ status: 0, body: {} }));
      await waitHealth(other.addr, 200, 15_000);
      t.diagnostic(`${backend.name}: SIGSTOP → other node active in ${Date.now() - started} ms`);
      process.kill(frozen.proc.pid!, 'SIGCONT');

      const answer = await held;
      await waitHealth(frozen.addr, 429, 10_000);
      const read = await call(other.addr, 'GET', 'secret/data/held-while-frozen', { token });
      // Either the resumed node refused it (it lost the lock: the fence held) or,
      // already standby, forwarded it to the new active; never a write that landed unacknowledged.
      t.diagnostic(`held write answered ${answer.status}; readable: ${read.status === 200}`);
      if (answer.status === 200) assert.equal(read.status, 200);
      else assert.equal(read.status, 404);
      assert.equal(await writeThrough([frozen.addr], token, 'after-resume'), true);
    });

    if (backend.name === 'postgresql') {
      test('a database restart during writes: writes fail meanwhile, then resume, none lost', async (t) => {
        const live = alive();
        const addrs = live.map((n) => n.addr);
        const acknowledged: string[] = [];
        let refused = 0;
        for (let i = 0; i < 200 && acknowledged.length < 60; i++) {
          if (i === 20) await store.restartDb!();
          const key = `db/${i}`;
          if (await writeThrough(addrs, token, key)) acknowledged.push(key);
          else {
            refused++;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        t.diagnostic(`${acknowledged.length} acknowledged, ${refused} refused around the restart`);
        assert.ok(acknowledged.length >= 60, 'writes resumed');
        for (const key of acknowledged) {
          let r = await call(addrs[0]!, 'GET', `secret/data/${key}`, { token });
          if (r.status !== 200) r = await call(addrs[1]!, 'GET', `secret/data/${key}`, { token });
          assert.equal(r.status, 200, `${key} readable`);
        }
      });
    }
  });
}
