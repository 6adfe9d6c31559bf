/**
 * `keep policy fmt`: parses an ACL policy with `js-hcl-parser` (HashiCorp's
 * HCL v1 parser, the family Vault uses, compiled to JS) and prints it back in
 * one canonical layout:
 *
 * - top-level assignments first, then each `path "..." { }` block in source
 *   order, blocks separated by a blank line, two-space indentation;
 * - in a block, plain assignments first (`capabilities` leading, the rest in
 *   name order, `=` aligned), then map-valued ones such as
 *   `allowed_parameters = { "key" = [...] }`;
 * - lists on one line, strings double-quoted.
 *
 * The parser returns keys sorted and drops comments, so source key order is
 * not kept and a file with comments is refused rather than stripped of them.
 */
import { loadHcl } from '../lib/hcl.ts';
import { LocalError } from './errors.ts';

/** True when the source has `#`, `//` or `/* *\/` comments outside strings. */
export function hasComments(source: string): boolean {
  let inString = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '#') return true;
    else if (ch === '/' && (source[i + 1] === '/' || source[i + 1] === '*')) return true;
  }
  return false;
}

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** HCL v1 in JSON form nests blocks and maps as lists of objects. */
function asObject(value: Value): Record<string, Value> | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (!value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
    return undefined;
  }
  return Object.assign({}, ...(value as Record<string, Value>[]));
}

function scalar(value: Value): string {
  if (Array.isArray(value)) return `[${value.map(scalar).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const inner = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)} = ${scalar(v)}`);
    return `{ ${inner.join(', ')} }`;
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function keyOrder(a: string, b: string): number {
  if (a === 'capabilities') return -1;
  if (b === 'capabilities') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Assignments with their `=` aligned, then map-valued entries as nested blocks. */
function body(fields: Record<string, Value>, indent: string, quoteKeys: boolean): string[] {
  const name = (k: string) => (quoteKeys ? JSON.stringify(k) : k);
  const keys = Object.keys(fields).sort(keyOrder);
  const plain = keys.filter((k) => !asObject(fields[k]));
  const nested = keys.filter((k) => asObject(fields[k]));

  const width = Math.max(0, ...plain.map((k) => name(k).length));
  const lines = plain.map((k) => `${indent}${name(k).padEnd(width)} = ${scalar(fields[k])}`);
  for (const k of nested) {
    if (lines.length > 0) lines.push('');
    lines.push(`${indent}${name(k)} = {`);
    lines.push(...body(asObject(fields[k])!, `${indent}  `, true));
    lines.push(`${indent}}`);
  }
  return lines;
}

/** Formats a policy document; throws LocalError when it cannot be parsed or has comments. */
export function formatPolicy(source: string): string {
  const parsed = loadHcl()(source);
  let doc: Record<string, Value>;
  try {
    doc = JSON.parse(parsed) as Record<string, Value>;
  } catch {
    // The parser reports errors as a plain string instead of JSON.
    throw new LocalError(`failed to parse policy: ${parsed}`);
  }
  if (hasComments(source)) {
    throw new LocalError(
      'the policy has comments, which this formatter cannot keep; remove them or format by hand',
    );
  }

  const { path, ...top } = doc;
  const sections: string[] = [];
  const topLines = body(top, '', false);
  if (topLines.length > 0) sections.push(topLines.join('\n'));

  for (const block of Array.isArray(path) ? path : []) {
    for (const [label, inner] of Object.entries(block as Record<string, Value>)) {
      const fields = asObject(inner) ?? {};
      const lines = body(fields, '  ', false);
      sections.push([`path ${JSON.stringify(label)} {`, ...lines, '}'].join('\n'));
    }
  }
  return `${sections.join('\n\n')}\n`;
}
