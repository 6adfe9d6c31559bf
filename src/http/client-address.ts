/**
 * The client address a request is judged by (bound CIDRs, audit, last use).
 *
 * It is the connection's peer address. Only when that peer is one of the
 * listener's `x_forwarded_for_authorized_addrs` (a load balancer) does the
 * address come from `X-Forwarded-For`: its rightmost entry, the one the
 * trusted proxy itself appended. As in Vault, once trusted proxies are
 * configured, a request carrying the header from anywhere else is refused
 * rather than silently judged by the peer address; without that setting the
 * header is ignored.
 */
import type { FastifyRequest } from 'fastify';
import { cidrMatcher, plainAddress } from '../lib/cidr.ts';
import { KeepError } from '../lib/errors.ts';

export type ClientAddressOf = (req: FastifyRequest) => string;

export function clientAddressResolver(authorizedProxies: readonly string[]): ClientAddressOf {
  const peerOf = (req: FastifyRequest) => plainAddress(req.socket.remoteAddress ?? '');
  if (authorizedProxies.length === 0) return peerOf;
  const trusted = cidrMatcher(authorizedProxies);
  return (req) => {
    const peer = peerOf(req);
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return peer;
    if (!trusted(peer)) {
      throw new KeepError('client sent X-Forwarded-For but is not an authorized proxy', {
        status: 403,
        code: 'forwarded_for_not_authorized',
      });
    }
    const hops = (Array.isArray(header) ? header.join(',') : header)
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    const last = hops.at(-1);
    if (!last)
      throw new KeepError('empty X-Forwarded-For header', { status: 400, code: 'bad_xff' });
    return plainAddress(last);
  };
}
