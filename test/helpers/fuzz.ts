/**
 * Settings shared by the property and fuzz tests: a fixed seed, so every run
 * tries the same cases and a failure reproduces, and a case count that
 * `KEEP_FUZZ_RUNS` raises for a longer soak (`KEEP_FUZZ_RUNS=100000 npm test fuzz`).
 * `KEEP_FUZZ_SEED` tries other cases; a failure names the seed to reproduce it.
 */
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
