import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  firstDisallowedName,
  globMatch,
  isHostname,
  type NamePolicy,
  splitAltNames,
  withCommonName,
} from './names.ts';

const base: NamePolicy = {
  allowed_domains: [],
  allow_bare_domains: false,
  allow_subdomains: false,
  allow_glob_domains: false,
  allow_wildcard_certificates: true,
  allow_localhost: true,
  allow_any_name: false,
  enforce_hostnames: true,
};

const policy = (over: Partial<NamePolicy>): NamePolicy => ({ ...base, ...over });
const ok = (p: NamePolicy, name: string) => firstDisallowedName(p, [name]) === undefined;

describe('globMatch (go-glob semantics)', () => {
  it('matches runs of any characters, dots included, case-sensitively', () => {
    assert.equal(globMatch('*', 'anything.at.all'), true);
    assert.equal(globMatch('*.example.com', 'a.b.example.com'), true);
    assert.equal(globMatch('*.example.com', 'example.com'), false);
    assert.equal(globMatch('web-*.example.com', 'web-01.example.com'), true);
    assert.equal(globMatch('web-*.example.com', 'db-01.example.com'), false);
    assert.equal(globMatch('a*b*c', 'aXXbYYc'), true);
    assert.equal(globMatch('a*b*c', 'aXXcYYb'), false);
    assert.equal(globMatch('exact', 'exact'), true);
    assert.equal(globMatch('Exact', 'exact'), false);
    assert.equal(globMatch('', ''), true);
    assert.equal(globMatch('spiffe://cluster/*', 'spiffe://cluster/ns/a'), true);
  });
});

describe('role name rules', () => {
  it('allowed_domains needs allow_bare_domains for the domain itself', () => {
    const p = policy({ allowed_domains: ['example.com'] });
    assert.equal(ok(p, 'example.com'), false);
    assert.equal(ok({ ...p, allow_bare_domains: true }, 'example.com'), true);
    assert.equal(ok({ ...p, allow_bare_domains: true }, 'EXAMPLE.com'), true);
  });

  it('allow_subdomains allows any depth below the domain, and wildcards of it', () => {
    const p = policy({ allowed_domains: ['example.com'], allow_subdomains: true });
    assert.equal(ok(p, 'a.example.com'), true);
    assert.equal(ok(p, 'a.b.example.com'), true);
    assert.equal(ok(p, '*.example.com'), true);
    assert.equal(ok(p, 'example.com'), false);
    assert.equal(ok(p, 'badexample.com'), false);
    assert.equal(ok(p, 'a.example.com.evil.org'), false);
  });

  it('allow_wildcard_certificates=false refuses every wildcard, even with allow_any_name', () => {
    const p = policy({
      allowed_domains: ['example.com'],
      allow_subdomains: true,
      allow_wildcard_certificates: false,
    });
    assert.equal(ok(p, '*.example.com'), false);
    assert.equal(ok({ ...p, allow_any_name: true }, '*.example.com'), false);
    assert.equal(ok(p, 'a.example.com'), true);
  });

  it('wildcards only in the left-most label, one at most', () => {
    const p = policy({ allow_any_name: true });
    assert.equal(ok(p, '*.example.com'), true);
    assert.equal(ok(p, 'a.*.example.com'), false);
    assert.equal(ok(p, '*.*.example.com'), false);
  });

  it('allow_glob_domains matches globs in allowed_domains against the whole name', () => {
    const p = policy({ allowed_domains: ['web-*.example.com'], allow_glob_domains: true });
    assert.equal(ok(p, 'web-01.example.com'), true);
    assert.equal(ok(p, 'db-01.example.com'), false);
    assert.equal(ok({ ...p, allow_glob_domains: false }, 'web-01.example.com'), false);
  });

  it('localhost and localdomain follow allow_localhost', () => {
    assert.equal(ok(base, 'localhost'), true);
    assert.equal(ok(base, 'localdomain'), true);
    assert.equal(ok(policy({ allow_localhost: false }), 'localhost'), false);
    assert.equal(ok(base, 'a.localhost'), false);
    assert.equal(ok(policy({ allow_subdomains: true }), 'a.localhost'), true);
  });

  it('enforce_hostnames refuses non-hostnames even under allow_any_name', () => {
    const p = policy({ allow_any_name: true });
    assert.equal(ok(p, 'not a hostname'), false);
    assert.equal(ok(p, 'under_score.example.com'), false);
    assert.equal(ok(p, '-lead.example.com'), false);
    assert.equal(ok({ ...p, enforce_hostnames: false }, 'not a hostname'), true);
  });

  it('e-mail addresses are judged by their domain', () => {
    const p = policy({ allowed_domains: ['example.com'], allow_bare_domains: true });
    assert.equal(ok(p, 'ops@example.com'), true);
    assert.equal(ok(p, 'ops@other.com'), false);
    assert.equal(ok(p, 'a@b@example.com'), false);
    assert.equal(ok(policy({ allow_any_name: true }), 'ops@*.example.com'), false);
  });

  it('names the first refused name', () => {
    const p = policy({ allowed_domains: ['example.com'], allow_subdomains: true });
    assert.equal(
      firstDisallowedName(p, ['a.example.com', 'b.other.org', 'c.bad.net']),
      'b.other.org',
    );
  });

  it('checks host name syntax, IDNA included', () => {
    assert.equal(isHostname('a.example.com'), true);
    assert.equal(isHostname('a.example.com.'), true);
    assert.equal(isHostname('bücher.example'), true);
    assert.equal(isHostname('a..b'), false);
    assert.equal(isHostname(`${'a'.repeat(300)}.com`), false);
  });
});

describe('SAN assembly', () => {
  it('splits alt_names into DNS names and e-mails', () => {
    assert.deepEqual(splitAltNames(['a.example.com', 'ops@example.com']), {
      dns: ['a.example.com'],
      emails: ['ops@example.com'],
    });
  });

  it('adds the common name first unless excluded, and never an IP or a non-hostname', () => {
    const sans = { dns: ['b.example.com'], emails: [] };
    assert.deepEqual(withCommonName('a.example.com', sans, false).dns, [
      'a.example.com',
      'b.example.com',
    ]);
    assert.deepEqual(withCommonName('a.example.com', sans, true).dns, ['b.example.com']);
    assert.deepEqual(withCommonName('10.0.0.1', sans, false).dns, ['b.example.com']);
    assert.deepEqual(withCommonName('My Service', sans, false).dns, ['b.example.com']);
    assert.deepEqual(withCommonName('ops@example.com', sans, false).emails, ['ops@example.com']);
    assert.deepEqual(withCommonName('*.example.com', { dns: [], emails: [] }, false).dns, [
      '*.example.com',
    ]);
    assert.deepEqual(withCommonName('bücher.example', { dns: [], emails: [] }, false).dns, [
      'xn--bcher-kva.example',
    ]);
  });
});
