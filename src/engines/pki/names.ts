/**
 * Which names a role lets a certificate carry: Vault's rules for common
 * names, DNS and e-mail SANs (allowed_domains with bare, sub-domain, glob and
 * wildcard forms, localhost, any name, hostname syntax), IP SANs and URI SANs.
 * Pure functions over a role's settings, so they are tested on their own.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** The role settings name checks read. */
export interface NamePolicy {
  allowed_domains: string[];
  allow_bare_domains: boolean;
  allow_subdomains: boolean;
  allow_glob_domains: boolean;
  allow_wildcard_certificates: boolean;
  allow_localhost: boolean;
  allow_any_name: boolean;
  enforce_hostnames: boolean;
}

// Vault's hostname and wildcard-label expressions.
const HOSTNAME =
  /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])\.?$/;
const WILDCARD_LABEL = /^([a-zA-Z0-9*]|[a-zA-Z0-9*][a-zA-Z0-9*-]*[a-zA-Z0-9*])$/;

/** A DNS name longer than this cannot exist (RFC 1035). */
const MAX_DNS_LENGTH = 253;

/**
 * Go-glob matching (ryanuber/go-glob, which Vault uses): `*` matches any run
 * of characters, dots included; everything else matches itself, case-sensitively.
 */
export function globMatch(pattern: string, subject: string): boolean {
  if (pattern === '') return subject === '';
  if (pattern === '*') return true;
  const parts = pattern.split('*');
  if (parts.length === 1) return subject === pattern;
  const leadingGlob = pattern.startsWith('*');
  const trailingGlob = pattern.endsWith('*');
  const end = parts.length - 1;
  let rest = subject;
  for (let i = 0; i < end; i++) {
    const part = parts[i]!;
    const idx = rest.indexOf(part);
    if (i === 0) {
      if (!leadingGlob && idx !== 0) return false;
    } else if (idx < 0) {
      return false;
    }
    rest = rest.slice(idx + part.length);
  }
  return trailingGlob || rest.endsWith(parts[end]!);
}

/** True when the name is a host name as Vault checks them (IDNA, then the hostname expression). */
export function isHostname(name: string): boolean {
  if (name === '' || name.length > MAX_DNS_LENGTH + 1) return false;
  const ascii = /^[\x21-\x7e]*$/.test(name) ? name : domainToASCII(name);
  if (ascii === '' || ascii.length > MAX_DNS_LENGTH + 1) return false;
  return HOSTNAME.test(ascii);
}

function splitWildcard(name: string): { label: string; reduced: string } | undefined {
  if (name.split('*').length - 1 > 1) return undefined;
  const dot = name.indexOf('.');
  if (dot < 0) return { label: name, reduced: '' };
  const label = name.slice(0, dot);
  const reduced = name.slice(dot + 1);
  if (reduced.includes('*')) return undefined;
  return { label, reduced };
}

/**
 * Returns the first name the role does not allow, or undefined when all are
 * allowed. Names with an `@` are e-mail addresses and are judged by their
 * domain part. The order of the checks is Vault's: wildcard permission and
 * hostname syntax first, then any-name, localhost, then allowed_domains.
 */
export function firstDisallowedName(policy: NamePolicy, names: string[]): string | undefined {
  for (const name of names) {
    if (!nameAllowed(policy, name)) return name;
  }
  return undefined;
}

function nameAllowed(policy: NamePolicy, name: string): boolean {
  let reduced = name;
  let emailDomain = name;
  let isEmail = false;
  let isWildcard = false;
  let wildcardLabel = '';

  if (reduced.includes('@')) {
    const parts = reduced.split('@');
    if (parts.length !== 2) return false;
    reduced = parts[1]!;
    emailDomain = parts[1]!;
    isEmail = true;
  }

  if (reduced.includes('*')) {
    isWildcard = true;
    if (!policy.allow_wildcard_certificates) return false;
    const split = splitWildcard(reduced);
    if (!split) return false;
    wildcardLabel = split.label;
    reduced = split.reduced;
  }
  if (isEmail && isWildcard) return false;

  if (policy.enforce_hostnames) {
    if (reduced !== '' && !isHostname(reduced)) return false;
    if (isWildcard && !WILDCARD_LABEL.test(wildcardLabel)) return false;
  }

  if (policy.allow_any_name) return true;

  if (policy.allow_localhost) {
    if (
      reduced === 'localhost' ||
      reduced === 'localdomain' ||
      (isEmail && (emailDomain === 'localhost' || emailDomain === 'localdomain'))
    ) {
      return true;
    }
    if (policy.allow_subdomains) {
      for (const base of ['localhost', 'localdomain']) {
        if (reduced.endsWith(`.${base}`) || (isWildcard && reduced === base)) return true;
      }
    }
  }

  for (const domain of policy.allowed_domains) {
    if (domain === '') continue;
    if (
      policy.allow_bare_domains &&
      (equalFold(name, domain) || (isEmail && equalFold(emailDomain, domain)))
    ) {
      return true;
    }
    if (
      policy.allow_subdomains &&
      (reduced.endsWith(`.${domain}`) || (isWildcard && equalFold(reduced, domain)))
    ) {
      return true;
    }
    if (policy.allow_glob_domains && domain.includes('*') && globMatch(domain, name)) return true;
  }
  return false;
}

function equalFold(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Splits `alt_names` into DNS names and e-mail addresses, as Vault does: an
 * entry with an `@` is an e-mail address.
 */
export function splitAltNames(values: string[]): { dns: string[]; emails: string[] } {
  const dns: string[] = [];
  const emails: string[] = [];
  for (const v of values) (v.includes('@') ? emails : dns).push(v);
  return { dns, emails };
}

/** Parses IP SANs; the first value that is not an address is named in a 400 by the caller. */
export function invalidIp(values: string[]): string | undefined {
  // Zone indexes (fe80::1%eth0) have no place in a certificate.
  return values.find((v) => isIP(v) === 0 || v.includes('%'));
}

/** True when a URI SAN matches one of the role's allowed_uri_sans globs. */
export function uriAllowed(allowed: string[], uri: string): boolean {
  return allowed.some((pattern) => globMatch(pattern, uri));
}

/** A URI SAN must at least have a scheme (RFC 3986), as Go's url.Parse requires. */
export function isUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/.test(value);
}

/** Adds the common name to the SANs unless excluded: e-mails to e-mails, host names to DNS. */
export function withCommonName(
  cn: string,
  sans: { dns: string[]; emails: string[] },
  exclude: boolean,
): { dns: string[]; emails: string[] } {
  const dns = [...sans.dns];
  const emails = [...sans.emails];
  if (cn !== '' && !exclude) {
    if (cn.includes('@')) emails.unshift(cn);
    else if (isIP(cn) === 0 && isHostnameOrWildcard(cn)) dns.unshift(toAscii(cn));
  }
  return { dns: unique(dns), emails: unique(emails) };
}

function isHostnameOrWildcard(name: string): boolean {
  if (!name.includes('*')) return isHostname(name);
  const split = splitWildcard(name);
  return (
    !!split &&
    WILDCARD_LABEL.test(split.label) &&
    (split.reduced === '' || isHostname(split.reduced))
  );
}

/** The IDNA (punycode) form of a host name, as it goes into a DNS SAN. */
export function toAscii(name: string): string {
  if (/^[\x21-\x7e]*$/.test(name)) return name;
  return domainToASCII(name) || name;
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}
