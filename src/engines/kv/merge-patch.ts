/**
 * JSON Merge Patch (RFC 7386), the semantics of Vault's KV v2 PATCH: objects
 * merge member by member, `null` removes a member, anything else replaces.
 */
import { isPlainObject } from '../../framework/fields.ts';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;

  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[name];
      continue;
    }
    const current = Object.hasOwn(result, name) ? result[name] : undefined;
    // defineProperty, not assignment: a member named "__proto__" must stay data.
    Object.defineProperty(result, name, {
      value: mergePatch(current, value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}
