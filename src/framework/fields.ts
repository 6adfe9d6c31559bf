/**
 * Field types and their coercion, in the manner of Vault's framework: clients
 * send numbers as strings, lists as comma-separated strings, durations as
 * "1h" or seconds, and a backend sees one typed value whatever was sent.
 */

import { parseDuration } from '../lib/duration.ts';
import { BadRequestError } from '../lib/errors.ts';

export type FieldType =
  | 'string'
  | 'int'
  | 'bool'
  | 'duration'
  | 'map'
  | 'string_map'
  | 'string_list'
  | 'comma_string_list'
  | 'raw';

export interface FieldSchema {
  type: FieldType;
  description?: string;
  default?: unknown;
  required?: boolean;
}

export type FieldSchemas = Record<string, FieldSchema>;

/** Typed view of a request's parameters (body, query and path captures). */
export class FieldData {
  readonly raw: Record<string, unknown>;
  private readonly schemas: FieldSchemas;

  constructor(raw: Record<string, unknown>, schemas: FieldSchemas) {
    this.raw = raw;
    this.schemas = schemas;
  }

  /** True when the caller sent the field (a default does not count). */
  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  get<T = unknown>(name: string): T {
    const schema = this.schemas[name];
    if (!schema) throw new Error(`field "${name}" is not declared`);
    const value = this.raw[name];
    if (value === undefined || value === null) return defaultFor(schema) as T;
    return coerce(name, value, schema.type) as T;
  }

  string(name: string): string {
    return this.get<string>(name);
  }

  int(name: string): number {
    return this.get<number>(name);
  }

  bool(name: string): boolean {
    return this.get<boolean>(name);
  }

  strings(name: string): string[] {
    return this.get<string[]>(name);
  }

  /** Checks every declared field once, so bad input fails before any work. */
  validate(): void {
    for (const [name, schema] of Object.entries(this.schemas)) {
      const value = this.raw[name];
      if (value === undefined || value === null) {
        if (schema.required) throw new BadRequestError(`missing required field "${name}"`);
        continue;
      }
      coerce(name, value, schema.type);
    }
  }
}

function defaultFor(schema: FieldSchema): unknown {
  if (schema.default !== undefined) return schema.default;
  switch (schema.type) {
    case 'string':
      return '';
    case 'int':
    case 'duration':
      return 0;
    case 'bool':
      return false;
    case 'map':
    case 'string_map':
      return {};
    case 'string_list':
    case 'comma_string_list':
      return [];
    default:
      return undefined;
  }
}

function invalid(name: string, type: string): BadRequestError {
  return new BadRequestError(`error converting input for field "${name}": expected ${type}`);
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** Go's strconv.ParseBool, which Vault uses for boolean parameters. */
export function parseBool(value: string): boolean | undefined {
  if (TRUE_WORDS.has(value)) return true;
  if (FALSE_WORDS.has(value)) return false;
  return undefined;
}

function coerce(name: string, value: unknown, type: FieldType): unknown {
  switch (type) {
    case 'raw':
      return value;
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw invalid(name, 'a string');
    case 'int': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
      throw invalid(name, 'an integer');
    }
    case 'bool': {
      if (typeof value === 'boolean') return value;
      const b = typeof value === 'string' ? parseBool(value) : undefined;
      if (b === undefined) throw invalid(name, 'a boolean');
      return b;
    }
    case 'duration':
      if (typeof value !== 'string' && typeof value !== 'number') throw invalid(name, 'a duration');
      try {
        return parseDuration(value);
      } catch {
        throw invalid(name, 'a duration');
      }
    case 'map':
      if (isPlainObject(value)) return value;
      throw invalid(name, 'an object');
    case 'string_map': {
      // Vault decodes these weakly: numbers and booleans become strings
      // (`{"version": 2}` is a common way to ask for KV v2).
      if (!isPlainObject(value)) throw invalid(name, 'a map of strings');
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v === 'string') out[k] = v;
        else if (typeof v === 'number' && Number.isFinite(v)) out[k] = String(v);
        else if (typeof v === 'boolean') out[k] = v ? '1' : '0';
        else throw invalid(name, 'a map of strings');
      }
      return out;
    }
    case 'string_list':
    case 'comma_string_list':
      return coerceList(name, value, type === 'comma_string_list');
  }
}

function coerceList(name: string, value: unknown, splitCommas: boolean): string[] {
  const items = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number') throw invalid(name, 'a list');
    const text = String(item);
    if (!splitCommas) {
      out.push(text);
      continue;
    }
    for (const part of text.split(',')) {
      const trimmed = part.trim();
      if (trimmed !== '') out.push(trimmed);
    }
  }
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
