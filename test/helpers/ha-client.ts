/** Small HTTP helpers for the HA tests: calls, health polling, acknowledged KV writes. */
import assert from 'node:assert/strict';

export async function call(
  addr: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: opts.token ? { 'x-vault-token': opts.token } : {},
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    redirect: 'manual',
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    if (text) body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text: text.slice(0, 200) }; // haproxy's own 503 page, say
  }
  return { status: res.status, body };
}

export const health = (addr: string) =>
  call(addr, 'GET', 'sys/health', { timeoutMs: 2000 }).then(
    (r) => r.status,
    () => 0,
  );

export async function waitHealth(addr: string, want: number, ms = 15_000): Promise<number> {
  const started = Date.now();
  let last = 0;
  while (Date.now() - started < ms) {
    last = await health(addr);
    if (last === want) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${addr} sys/health stayed ${last}, wanted ${want}`);
}

/** An acknowledged write is one the server answered 2xx; those must all survive. */
export async function writeThrough(addrs: string[], token: string, key: string): Promise<boolean> {
  for (const addr of addrs) {
    try {
      const r = await call(addr, 'POST', `secret/data/${key}`, {
        token,
        body: { data: { v: key } },
        timeoutMs: 3000,
      });
      if (r.status === 200) return true;
    } catch {
      // try the next node
    }
  }
  return false;
}
