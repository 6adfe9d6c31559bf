/**
 * Settings shared by the property and fuzz tests: a fixed seed, so every run
 * tries the same cases and a failure reproduces, and a case count that
 * `KEEP_FUZZ_RUNS` raises for a longer soak (`KEEP_FUZZ_RUNS=100000 npm test fuzz`).
 * `KEEP_FUZZ_SEED` tries other cases; a failure names the seed to reproduce it.
 */
import http from 'node:http';
import fc from 'fast-check';

/** 'keep' in ASCII: the seed every normal run uses. */
export const DEFAULT_FUZZ_SEED = 0x6b656570;

export const FUZZ_SEED = positiveInt(process.env.KEEP_FUZZ_SEED) ?? DEFAULT_FUZZ_SEED;

/** The case count: `normal` in `npm test`, `KEEP_FUZZ_RUNS` when set. */
export function fuzzRuns(normal: number): number {
  return positiveInt(process.env.KEEP_FUZZ_RUNS) ?? normal;
}

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * `fc.assert` with the shared seed and count. fast-check's own failure message
 * names the seed, the path and the shrunk counterexample; the line added here
 * says how to re-run exactly that.
 */
export async function fuzz<Ts>(
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  normalRuns: number,
): Promise<void> {
  const numRuns = fuzzRuns(normalRuns);
  try {
    // fc.assert returns a promise for an async property and nothing for a sync one.
    await (fc.assert as (p: unknown, params: fc.Parameters<Ts>) => unknown)(property, {
      seed: FUZZ_SEED,
      numRuns,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // fast-check keeps the property's own assertion as the cause; show it too.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
    throw new Error(
      `${message}\n${cause ? `cause: ${cause}\n` : ''}` +
        `reproduce with KEEP_FUZZ_SEED=${FUZZ_SEED} KEEP_FUZZ_RUNS=${numRuns}`,
      { cause: err },
    );
  }
}

/**
 * A valid document with one to six edits: at a random place, up to
 * `maxDelete` characters deleted and one of `inserts` put in their stead.
 */
export function mutatedText(
  valid: string,
  maxDelete: number,
  inserts: readonly string[],
): fc.Arbitrary<string> {
  return fc
    .array(fc.tuple(fc.nat(valid.length), fc.nat(maxDelete), fc.constantFrom(...inserts)), {
      minLength: 1,
      maxLength: 6,
    })
    .map((edits) => {
      let text = valid;
      for (const [at, del, ins] of edits) {
        const i = Math.min(at, text.length);
        text = text.slice(0, i) + ins + text.slice(i + del);
      }
      return text;
    });
}

/** One of `opens` repeated 50 to 3,000 times: nesting no parser should overflow on. */
export function deeplyNested(opens: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: 50, max: 3000 }), fc.constantFrom(...opens))
    .map(([n, open]) => open.repeat(n));
}

export interface Answer {
  status: number;
  type: string | null;
  text: string;
}

/**
 * One request through node:http, which sends the path exactly as given (no
 * dot-segment resolution), on the caller's keep-alive agent. A body is always
 * framed with Content-Length: unframed on a GET or DELETE, it would read as
 * the next request on the connection.
 */
export function rawRequest(
  addr: string,
  agent: http.Agent,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<Answer> {
  const framed = { ...headers };
  if (body !== undefined) framed['Content-Length'] = String(Buffer.byteLength(body));
  const url = new URL(addr);
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers: framed, agent, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: res.headers['content-type'] ?? null,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in 15 s: ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}
