/**
 * CIDR lists for the `*_bound_cidrs` settings, on Node's own net.BlockList.
 * A bare address is a one-address network, as in Vault.
 */
import net from 'node:net';
import { BadRequestError } from './errors.ts';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export function parseCidr(text: string): Cidr {
  const [address, prefixText, extra] = text.trim().split('/');
  const version = net.isIP(address ?? '');
  if (!address || version === 0 || extra !== undefined) {
    throw new BadRequestError(`invalid CIDR "${text}"`);
  }
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new BadRequestError(`invalid CIDR "${text}"`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A client address as the connection gives it, with IPv4-mapped IPv6 unwrapped. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** A test for "is this client address inside any of these networks"; empty allows all. */
export function cidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  if (cidrs.length === 0) return () => true;
  const list = new net.BlockList();
  for (const text of cidrs) {
    const c = parseCidr(text);
    list.addSubnet(c.address, c.prefix, c.family);
  }
  return (address) => {
    const plain = plainAddress(address);
    const version = net.isIP(plain);
    if (version === 0) return false;
    return list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * Whether the network `inner` lies wholly inside one of `outers`: a secret
 * ID's `cidr_list` must narrow its role's `secret_id_bound_cidrs`, never
 * widen it. Aligned blocks either nest or do not meet, so `inner` is inside
 * an outer block that is no longer than it as soon as one of its addresses is.
 */
export function cidrWithin(inner: string, outers: readonly string[]): boolean {
  const c = parseCidr(inner);
  return outers.some((text) => {
    const o = parseCidr(text);
    if (o.family !== c.family || o.prefix > c.prefix) return false;
    const list = new net.BlockList();
    list.addSubnet(o.address, o.prefix, o.family);
    return list.check(c.address, c.family);
  });
}
