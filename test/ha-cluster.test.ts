/**
 * The cluster on one machine: 3 etcd members, 3 Keep nodes and
 * Debian's haproxy in front, health-checking `/v1/sys/health` so that only the
 * active node gets traffic. A writer sends acknowledged KV writes through
 * haproxy while (1) the active Keep node is killed with SIGKILL and (2) etcd
 * members are killed: one (quorum holds, writes go on) and then two (writes
 * fail with a 5xx and resume once the members return). Every acknowledged
 * write must read back at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, health, waitHealth, writeThrough } from './helpers/ha-client.ts';
import { type KeepProcess, removeDir, requirePackage, startKeep } from './helpers/keep-server.ts';
import {
  type EtcdCluster,
  etcdAvailable,
  type Haproxy,
  haproxyAvailable,
  startEtcd,
  startHaproxy,
} from './helpers/services.ts';

const skip =
  requirePackage(etcdAvailable(), 'etcd-server') || requirePackage(haproxyAvailable(), 'haproxy');

describe('3 Keep nodes on 3 etcd members behind haproxy', { skip, timeout: 300_000 }, () => {
  let etcd: EtcdCluster;
  let lb: Haproxy;
  const nodes: KeepProcess[] = [];
  let token = '';
  const acknowledged: string[] = [];
  let seq = 0;

  /**
   * Writes through haproxy for up to `ms`, or until `afterFirstOkMs` have passed
   * since the first acknowledged write; counts the answers by status (0: no answer).
   */
  const writeLoop = async (ms: number, afterFirstOkMs?: number) => {
    const deadline = Date.now() + ms;
    const statuses = new Map<number, number>();
    let ok = 0;
    let firstOkAt = 0;
    while (Date.now() < deadline) {
      if (afterFirstOkMs !== undefined && firstOkAt && Date.now() - firstOkAt > afterFirstOkMs)
        break;
      const key = `c/${seq++}`;
      let status = 0;
      try {
        status = (
          await call(lb.addr, 'POST', `secret/data/${key}`, {
            token,
            body: { data: { v: key } },
            timeoutMs: 8000,
          })
        ).status;
      } catch {
        status = 0;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) {
        ok++;
        firstOkAt ||= Date.now();
        acknowledged.push(key);
      } else {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return { ok, statuses, firstOkAt };
  };

  before(async () => {
    etcd = await startEtcd(3);
    const stanza = `storage "etcd" {
  address      = "${etcd.endpoints.join(',')}"
  path         = "/keep-cluster/"
  ha_enabled   = "true"
  lock_timeout = "3s"
}`;
    for (let i = 0; i < 3; i++) nodes.push(await startKeep({ storageStanza: stanza }));
    const init = await call(nodes[0]!.addr, 'PUT', 'sys/init', {
      body: { secret_shares: 3, secret_threshold: 2 },
    });
    const keys = init.body.keys as string[];
    token = init.body.root_token as string;
    for (const node of nodes) {
      for (const key of keys.slice(0, 2))
        await call(node.addr, 'PUT', 'sys/unseal', { body: { key } });
    }
    await waitHealth(nodes[0]!.addr, 200);
    lb = await startHaproxy(nodes.map((n) => n.addr));
    const mount = await call(lb.addr, 'POST', 'sys/mounts/secret', {
      token,
      body: { type: 'kv', options: { version: '2' } },
    });
    assert.equal(mount.status, 204);
  });

  after(async () => {
    await lb?.stop();
    for (const node of nodes) {
      await node.stop();
      removeDir(node.dir);
    }
    await etcd?.stop();
  });

  test('exactly one node answers 200 to the health check', async () => {
    await waitHealth(nodes[1]!.addr, 429);
    await waitHealth(nodes[2]!.addr, 429);
    const codes = await Promise.all(nodes.map((n) => health(n.addr)));
    assert.deepEqual(codes.sort(), [200, 429, 429]);
    assert.equal(await writeThrough([lb.addr], token, 'first'), true);
  });

  test('SIGKILL of the active node: haproxy finds the new one, nothing acknowledged is lost', async (t) => {
    const codes = await Promise.all(nodes.map((n) => health(n.addr)));
    const active = nodes[codes.indexOf(200)]!;
    await writeLoop(1500);
    const killedAt = Date.now();
    process.kill(active.proc.pid!, 'SIGKILL');
    const after = await writeLoop(30_000, 1000);
    t.diagnostic(`after the kill: ${JSON.stringify([...after.statuses])}`);
    assert.ok(after.ok > 0, 'writes resumed through haproxy');
    t.diagnostic(
      `kill -9 of the active → first acknowledged write through haproxy: ${after.firstOkAt - killedAt} ms (lock TTL 3s)`,
    );
  });

  test('one etcd member down: writes go on; two down: 5xx; back: writes resume', async (t) => {
    await etcd.kill(0);
    const one = await writeLoop(3000);
    t.diagnostic(`one member down: ${JSON.stringify([...one.statuses])}`);
    assert.ok(one.ok > 0, 'writes go on with quorum');

    await etcd.kill(1);
    const two = await writeLoop(8000);
    t.diagnostic(`two members down: ${JSON.stringify([...two.statuses])}`);
    const failures = [...two.statuses].filter(([s]) => s !== 200);
    assert.ok(failures.length > 0, 'writes fail without quorum');
    for (const [status] of failures) assert.ok(status === 0 || status >= 500, `status ${status}`);

    const returned = Date.now();
    await etcd.restart(0);
    await etcd.restart(1);
    const back = await writeLoop(40_000, 1000);
    t.diagnostic(`after the members returned: ${JSON.stringify([...back.statuses])}`);
    assert.ok(back.ok > 0, 'writes resume');
    t.diagnostic(`members restarted → first acknowledged write: ${back.firstOkAt - returned} ms`);
  });

  test('every acknowledged write reads back', async (t) => {
    let missing = 0;
    for (const key of acknowledged) {
      const r = await call(lb.addr, 'GET', `secret/data/${key}`, { token, timeoutMs: 8000 });
      if (r.status !== 200) missing++;
    }
    t.diagnostic(`${acknowledged.length} acknowledged writes, ${missing} missing`);
    assert.equal(missing, 0);
  });
});
