import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrMatcher, cidrWithin, parseCidr, plainAddress } from './cidr.ts';
import { BadRequestError } from './errors.ts';

describe('CIDR lists', () => {
  it('parses networks and bare addresses, and refuses anything else', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.equal(parseCidr('127.0.0.1').prefix, 32);
    assert.equal(parseCidr('fd00::/8').family, 'ipv6');
    for (const bad of [
      '',
      '10.0.0.0/33',
      '10.0.0/8',
      'host/8',
      '1.2.3.4/8/9',
      '1.2.3.4/x',
      '::/129',
    ]) {
      assert.throws(() => parseCidr(bad), BadRequestError, bad);
    }
  });

  it('matches addresses, unwrapping IPv4-mapped IPv6', () => {
    const inside = cidrMatcher(['10.1.0.0/16', '127.0.0.1', 'fd00::/8']);
    assert.equal(inside('10.1.2.3'), true);
    assert.equal(inside('10.2.0.1'), false);
    assert.equal(inside('::ffff:127.0.0.1'), true);
    assert.equal(inside('127.0.0.2'), false);
    assert.equal(inside('fd12::1'), true);
    assert.equal(inside('not-an-address'), false);
    assert.equal(cidrMatcher([])('203.0.113.9'), true);
    assert.equal(plainAddress('::ffff:10.0.0.1'), '10.0.0.1');
  });
});

describe('cidrWithin', () => {
  it('holds a network inside a wider one of the same family, never a wider one', () => {
    assert.equal(cidrWithin('10.1.0.0/16', ['10.0.0.0/8']), true);
    assert.equal(cidrWithin('10.1.2.3', ['10.1.0.0/16']), true);
    assert.equal(cidrWithin('10.0.0.0/8', ['10.1.0.0/16']), false);
    assert.equal(cidrWithin('11.0.0.0/16', ['10.0.0.0/8']), false);
    assert.equal(cidrWithin('fd00::/16', ['fd00::/8']), true);
    assert.equal(cidrWithin('10.0.0.0/8', ['::/0']), false);
    assert.equal(cidrWithin('10.0.0.0/8', []), false);
  });
});
