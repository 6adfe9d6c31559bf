/** `sys/wrapping/*`: wrap a value, and look up, unwrap or rewrap a wrapping token. */
import type { PathSpec } from '../../framework/backend.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { Core } from '../core.ts';

const tokenField = { token: { type: 'string' } } as const;

export function wrappingPaths(core: Core): PathSpec[] {
  const wrapper = () => core.unsealed.wrapper;
  return [
    {
      pattern: 'wrapping/wrap',
      freeForm: true,
      synopsis: 'Wrap the request body; the wrap TTL comes from X-Vault-Wrap-TTL.',
      operations: {
        update: async (req) => {
          if (req.wrapTtlSeconds === undefined) {
            throw new BadRequestError('wrapping requires the X-Vault-Wrap-TTL header');
          }
          // The core wraps this response on the way out.
          return { data: { ...req.data } };
        },
      },
    },
    {
      pattern: 'wrapping/unwrap',
      fields: tokenField,
      synopsis: 'The wrapped response, once: the token is spent.',
      operations: {
        update: async (req, f) => {
          const given = f.string('token');
          if (given && given !== req.clientToken) return wrapper().unwrap(given, false);
          // Unwrapping with the wrapping token itself: the core spent its use already.
          return wrapper().unwrap(req.clientToken ?? '', true);
        },
      },
    },
    {
      pattern: 'wrapping/lookup',
      fields: tokenField,
      synopsis: 'When and where a wrapping token was made, and its TTL, without spending it.',
      operations: {
        update: async (req, f) => ({
          data: await wrapper().lookup(f.string('token') || req.clientToken || ''),
        }),
        read: async (req, f) => ({
          data: await wrapper().lookup(f.string('token') || req.clientToken || ''),
        }),
      },
    },
    {
      pattern: 'wrapping/rewrap',
      fields: tokenField,
      synopsis: 'The same wrapped response under a new token; the old one is spent.',
      operations: {
        update: async (req, f) => wrapper().rewrap(f.string('token') || req.clientToken || ''),
      },
    },
  ];
}
