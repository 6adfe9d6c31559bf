/**
 * Which Consul keys Keep can hold. Consul takes any byte string; Keep's
 * storage takes valid Unicode without NUL (PostgreSQL text cannot hold it)
 * and no leading `/`, which Consul's own HTTP API refuses too
 * ("key must not begin with a '/'").
 */

/** Why `key` cannot be stored, in words for the client; undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (key.startsWith('/')) return "key must not begin with a '/'";
  if (key.includes('\0')) return 'key must not contain a NUL character';
  if (/\p{Surrogate}/u.test(key)) return 'key must be valid UTF-8';
  return undefined;
}
