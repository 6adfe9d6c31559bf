import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, NotFoundError, UnsupportedOperationError } from '../lib/errors.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { defineBackend } from './backend.ts';
import type { BackendContext, LogicalRequest, Operation } from './types.ts';

const ctx: BackendContext = {
  storage: new MemoryStorage(),
  mount: {
    path: 'test/',
    type: 'test',
    uuid: 'u',
    accessor: 'a',
    description: '',
    options: {},
    defaultLeaseTtlSeconds: 0,
    maxLeaseTtlSeconds: 0,
  },
  system: { defaultLeaseTtlSeconds: 60, maxLeaseTtlSeconds: 120, now: () => new Date() },
};

function request(
  operation: Operation,
  relPath: string,
  data: Record<string, unknown> = {},
  query: Record<string, string> = {},
): LogicalRequest {
  return {
    id: 'r',
    operation,
    path: `test/${relPath}`,
    relPath,
    mountPoint: 'test/',
    data,
    query,
    remoteAddr: '127.0.0.1',
    headers: {},
  };
}

const backend = defineBackend({
  type: 'test',
  paths: [
    {
      pattern: 'item/(?<name>[^/]+)',
      fields: {
        name: { type: 'string' },
        count: { type: 'int' },
        enabled: { type: 'bool' },
        ttl: { type: 'duration' },
        tags: { type: 'comma_string_list' },
      },
      exists: async (_req, f) => f.string('name') === 'present',
      operations: {
        read: async (_req, f) => ({
          data: {
            name: f.string('name'),
            count: f.int('count'),
            enabled: f.bool('enabled'),
            ttl: f.int('ttl'),
            tags: f.strings('tags'),
          },
        }),
        update: async (_req, f) => ({ data: { handled: 'update', count: f.int('count') } }),
      },
    },
    {
      pattern: 'strict',
      strictFields: true,
      fields: { a: { type: 'string' } },
      operations: { update: async () => undefined },
    },
  ],
});

describe('defineBackend', () => {
  it('reads fields from the query on reads but not on writes, as Vault does', async () => {
    const read = await backend.handle(request('read', 'item/x', {}, { count: '7' }), ctx);
    assert.equal(read?.data?.count, 7);
    const write = await backend.handle(request('update', 'item/x', {}, { count: '7' }), ctx);
    assert.equal(write?.data?.count, 0);
    const body = await backend.handle(
      request('update', 'item/x', { count: 3 }, { count: '7' }),
      ctx,
    );
    assert.equal(body?.data?.count, 3);
  });

  it('coerces fields the way Vault clients send them', async () => {
    const resp = await backend.handle(
      request('read', 'item/x', {}, { count: '5', enabled: 'true', ttl: '1h', tags: 'a, b,,c' }),
      ctx,
    );
    assert.deepEqual(resp?.data, {
      name: 'x',
      count: 5,
      enabled: true,
      ttl: 3600,
      tags: ['a', 'b', 'c'],
    });
  });

  it('refuses a value of the wrong type with a 400 naming the field', async () => {
    await assert.rejects(
      backend.handle(request('read', 'item/x', {}, { count: 'many' }), ctx),
      (err: Error) => {
        assert.ok(err instanceof BadRequestError);
        assert.match(err.message, /"count"/);
        return true;
      },
    );
  });

  it('serves create with the update handler when there is no create handler', async () => {
    const resp = await backend.handle(request('create', 'item/x'), ctx);
    assert.deepEqual(resp?.data, { handled: 'update', count: 0 });
  });

  it('answers 404 for an unknown path and 405 for an unsupported operation', async () => {
    await assert.rejects(backend.handle(request('read', 'nothing'), ctx), NotFoundError);
    await assert.rejects(
      backend.handle(request('delete', 'item/x'), ctx),
      UnsupportedOperationError,
    );
  });

  it('warns about body fields it ignored, and refuses them on strict paths', async () => {
    const resp = await backend.handle(request('update', 'item/x', { bogus: 1 }), ctx);
    assert.deepEqual(resp?.warnings, ['Endpoint ignored these unrecognized parameters: [bogus]']);
    await assert.rejects(
      backend.handle(request('update', 'strict', { bogus: 1 }), ctx),
      BadRequestError,
    );
  });

  it('reports existence from the path declaration', async () => {
    assert.equal(await backend.exists(request('update', 'item/present'), ctx), true);
    assert.equal(await backend.exists(request('update', 'item/absent'), ctx), false);
    assert.equal(await backend.exists(request('update', 'strict'), ctx), undefined);
  });
});
