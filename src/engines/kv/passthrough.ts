/**
 * The unversioned key/value path shared by KV v1 and cubbyhole: whatever JSON
 * object a client writes at a path is stored as is and read back whole.
 * Storage key = `prefix` + secret path, so a one-level list of a folder is a
 * one-level storage list.
 */

import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import { isPlainObject } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import { checkFolderPath, checkKeyPath, isKeyPath } from './key-path.ts';
import { decodeJson, encodeJson } from './wire-format.ts';

export interface PassthroughOptions {
  /**
   * Storage prefix for this request: empty, or ending with `/`. Throws when
   * the request may not use the store at all (cubbyhole without a token).
   */
  prefixFor(req: LogicalRequest): string;
  /** Extra response fields for a read, such as KV v1's lease duration. */
  decorateRead?(stored: Record<string, unknown>, ctx: BackendContext): Partial<LogicalResponse>;
  synopsis: string;
  description: string;
}

export function passthroughPath(opts: PassthroughOptions): PathSpec {
  async function readEntry(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const prefix = opts.prefixFor(req);
    const path = fields.string('path');
    if (path === '') throw new NotFoundError();
    const raw = await ctx.storage.get(prefix + checkKeyPath(path));
    if (!raw) throw new NotFoundError();

    const stored = decodeJson<Record<string, unknown>>(raw);
    return { data: stored, ...opts.decorateRead?.(stored, ctx) };
  }

  async function writeEntry(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const prefix = opts.prefixFor(req);
    const key = prefix + checkKeyPath(fields.string('path'));
    // Vault stores the request body itself, so a field called "path" is kept too.
    if (!isPlainObject(req.data)) throw new BadRequestError('request body must be a JSON object');
    if (Object.keys(req.data).length === 0) throw new BadRequestError('missing data fields');

    await ctx.storage.put(key, encodeJson(req.data));
    return undefined;
  }

  async function deleteEntry(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const prefix = opts.prefixFor(req);
    await ctx.storage.delete(prefix + checkKeyPath(fields.string('path')));
    return undefined;
  }

  async function listEntries(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const prefix = opts.prefixFor(req);
    const keys = await ctx.storage.list(prefix + checkFolderPath(fields.string('path')));
    if (keys.length === 0) throw new NotFoundError();
    return { data: { keys } };
  }

  return {
    pattern: '(?<path>[\\s\\S]*)',
    fields: {
      path: { type: 'string', description: 'Location of the secret.' },
    },
    // The body is the secret itself: every field is wanted, none is "unrecognized".
    freeForm: true,
    operations: {
      read: readEntry,
      create: writeEntry,
      update: writeEntry,
      delete: deleteEntry,
      list: listEntries,
    },
    async exists(req, fields, ctx) {
      const path = fields.string('path');
      if (!isKeyPath(path)) return false;
      return (await ctx.storage.get(opts.prefixFor(req) + path)) !== undefined;
    },
    synopsis: opts.synopsis,
    description: opts.description,
  };
}
