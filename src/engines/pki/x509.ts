/**
 * The X.509 encoding layer: @peculiar/x509 on Node's WebCrypto does the
 * ASN.1 and the signatures; this module decides what goes into certificates,
 * CSRs and CRLs (subject order, extensions, serials) the way Vault does, and
 * turns anything malformed a client sends into a 400 that never echoes key
 * material.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { BadRequestError } from '../../lib/errors.ts';
import { sortForSet } from './fast-leaf.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** Subject fields as Vault's APIs name them. */
export interface SubjectFields {
  common_name: string;
  ou: string[];
  organization: string[];
  country: string[];
  locality: string[];
  province: string[];
  street_address: string[];
  postal_code: string[];
  serial_number: string;
}

const OID = {
  CN: '2.5.4.3',
  SERIAL: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  POSTAL: '2.5.4.17',
} as const;

// Go's PrintableString test (with '*' and '&', which Go tolerates).
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?*&]*$/;

function attr(value: string): x509.JsonAttributeObject {
  return PRINTABLE.test(value) ? { printableString: value } : { utf8String: value };
}

/**
 * Builds a distinguished name in Go's order (C, ST, L, street, postal code,
 * O, OU, CN, serial number), several values of one attribute sharing an RDN.
 * Values go in as typed strings, so commas, quotes and `+` stay literal.
 */
export function buildName(s: Partial<SubjectFields>): x509.Name {
  const rdns: x509.JsonAttributeAndObjectValue[] = [];
  const add = (oid: string, values: string[] | undefined) => {
    // DER orders a SET OF by the encodings of its members.
    const vs = sortForSet(
      oid,
      (values ?? []).filter((v) => v !== ''),
    );
    if (vs.length > 0) rdns.push({ [oid]: vs.map(attr) });
  };
  add(OID.C, s.country);
  add(OID.ST, s.province);
  add(OID.L, s.locality);
  add(OID.STREET, s.street_address);
  add(OID.POSTAL, s.postal_code);
  add(OID.O, s.organization);
  add(OID.OU, s.ou);
  add(OID.CN, s.common_name ? [s.common_name] : []);
  add(OID.SERIAL, s.serial_number ? [s.serial_number] : []);
  return new x509.Name(rdns);
}

/** The common name of a parsed name, or "". */
export function commonNameOf(name: x509.Name): string {
  return name.getField(OID.CN)[0] ?? '';
}

/**
 * A fresh serial: 20 random bytes whose first byte is 0x01–0x7f, so the DER
 * INTEGER is positive, exactly 20 bytes, and the colon form has no leading zero.
 */
export function newSerialHex(): string {
  const bytes = randomBytes(20);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** Vault's serial form: lower-case hex byte pairs joined by colons, no leading zero byte. */
export function colonSerial(hex: string): string {
  let h = hex.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (h.length % 2 === 1) h = `0${h}`;
  while (h.length > 2 && h.startsWith('00')) h = h.slice(2);
  return h.match(/../g)!.join(':');
}

/** Accepts a serial in colon or hyphen form; undefined when it is not one. */
export function parseSerial(input: string): string | undefined {
  const s = input.trim().toLowerCase();
  if (!/^[0-9a-f]{1,2}([:-][0-9a-f]{1,2}){0,31}$/.test(s)) return undefined;
  return colonSerial(
    s
      .split(/[:-]/)
      .map((p) => p.padStart(2, '0'))
      .join(''),
  );
}

/** The storage form of a serial: hyphens, as Vault keeps them. */
export function storageSerial(colon: string): string {
  return colon.replace(/:/g, '-');
}

// ---------------------------------------------------------------- PEM

export interface PemBlock {
  label: string;
  der: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * Every PEM block in `text`, strictly: base64 bodies only, nothing but
 * blanks between blocks. Throws a 400 naming `what` and never quoting the input.
 */
export function decodePem(text: string, what: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (text.slice(last, m.index).trim() !== '') throw malformedPem(what);
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0 || body === '') {
      throw malformedPem(what);
    }
    const der = Buffer.from(body, 'base64');
    // The DER parser reads the first element and ignores what follows it; Go's
    // (and so Vault's) refuses trailing data, and so does Keep, so a CSR or
    // certificate has one encoding and nothing rides along after its signature.
    const length = derElementLength(der);
    if (length !== undefined && length < der.length) {
      throw new BadRequestError(`${what} holds data after the end of its DER structure`);
    }
    blocks.push({ label: m[1]!, der });
    last = m.index! + m[0].length;
  }
  if (text.slice(last).trim() !== '' || blocks.length === 0) throw malformedPem(what);
  return blocks;
}

/**
 * The DER element at `at`: its tag, where its contents start and where it
 * ends; undefined when the header is not definite-length DER, which the
 * structure's own parser then refuses.
 */
function derElement(
  der: Buffer,
  at: number,
): { tag: number; start: number; end: number } | undefined {
  if (der.length < at + 2 || (der[at]! & 0x1f) === 0x1f) return undefined;
  const first = der[at + 1]!;
  if (first < 0x80) return { tag: der[at]!, start: at + 2, end: at + 2 + first };
  const count = first & 0x7f;
  if (count === 0 || count > 4 || der.length < at + 2 + count) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + der[at + 2 + i]!;
  const start = at + 2 + count;
  return { tag: der[at]!, start, end: start + length };
}

/** Bytes taken by the DER element at the start of `der`. */
function derElementLength(der: Buffer): number | undefined {
  return derElement(der, 0)?.end;
}

/**
 * The signature BIT STRING that closes a signed structure (SEQUENCE {
 * to-be-signed, algorithm, BIT STRING }): its unused-bits count and bytes.
 */
function signatureOf(der: Buffer): { unusedBits: number; bytes: Buffer } | undefined {
  const outer = derElement(der, 0);
  if (outer?.tag !== 0x30 || outer.end !== der.length) return undefined;
  const tbs = derElement(der, outer.start);
  if (tbs?.tag !== 0x30) return undefined;
  // The algorithm's tags too: the parser reads a mis-tagged AlgorithmIdentifier
  // (or OID inside it) as if it were right, and the signature does not cover it.
  const algorithm = derElement(der, tbs.end);
  if (algorithm?.tag !== 0x30 || derElement(der, algorithm.start)?.tag !== 0x06) return undefined;
  const signature = derElement(der, algorithm.end);
  if (signature?.tag !== 0x03 || signature.start >= signature.end || signature.end !== outer.end) {
    return undefined;
  }
  return {
    unusedBits: der[signature.start]!,
    bytes: der.subarray(signature.start + 1, signature.end),
  };
}

/** An ECDSA signature as DER: SEQUENCE { INTEGER r, INTEGER s } and nothing else. */
function isDerEcdsaSignature(sig: Buffer): boolean {
  const seq = derElement(sig, 0);
  if (seq?.tag !== 0x30 || seq.end !== sig.length) return false;
  const r = derElement(sig, seq.start);
  if (r?.tag !== 0x02) return false;
  const s = derElement(sig, r.end);
  return s?.tag === 0x02 && s.end === seq.end;
}

function malformedPem(what: string): BadRequestError {
  return new BadRequestError(`${what} is not valid PEM data`);
}

export function encodePem(der: ArrayBuffer | Buffer, label: string): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----`;
}

/** Parses one DER certificate; a 400 when it is not one. */
export function parseCertificate(der: Buffer, what = 'certificate'): x509.X509Certificate {
  try {
    const cert = new x509.X509Certificate(toArrayBuffer(der));
    // Parts are decoded on first use; touch the ones callers read, so a broken
    // one (a key with damaged curve parameters) is this 400, not a later 500.
    void cert.publicKey.algorithm;
    void cert.subjectName;
    void cert.issuerName;
    void cert.notBefore;
    void cert.notAfter;
    void cert.extensions;
    return cert;
  } catch {
    throw new BadRequestError(`${what} could not be parsed as an X.509 certificate`);
  }
}

/** Parses PEM certificates (one or a bundle), in order. */
export function parseCertificatesPem(text: string, what = 'certificate'): x509.X509Certificate[] {
  const blocks = decodePem(text, what);
  const out: x509.X509Certificate[] = [];
  for (const b of blocks) {
    if (b.label !== 'CERTIFICATE') {
      throw new BadRequestError(`${what} holds a "${b.label}" block where a certificate belongs`);
    }
    out.push(parseCertificate(b.der, what));
  }
  return out;
}

export function certPem(cert: x509.X509Certificate): string {
  return encodePem(cert.rawData, 'CERTIFICATE');
}

// ---------------------------------------------------------------- CSR

/** Parses and verifies a PEM CSR: malformed → 400, bad signature → 400. */
export async function parseCsr(text: string): Promise<x509.Pkcs10CertificateRequest> {
  if (text.trim() === '') throw new BadRequestError('csr contains no data');
  const blocks = decodePem(text, 'csr');
  if (blocks.length !== 1 || !/^(NEW )?CERTIFICATE REQUEST$/.test(blocks[0]!.label)) {
    throw new BadRequestError('csr must hold exactly one "CERTIFICATE REQUEST" PEM block');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(toArrayBuffer(blocks[0]!.der));
    // Touch the parts a signature check and issuance read, so a broken one fails here.
    void csr.subjectName;
    void csr.publicKey.algorithm;
  } catch {
    throw new BadRequestError('certificate request could not be parsed');
  }
  // The signature must be DER, as Go (so Vault) requires, though WebCrypto
  // would verify a BIT STRING claiming unused bits, or an ECDSA signature
  // whose SEQUENCE length is wrong: one CSR, one encoding.
  const signature = signatureOf(blocks[0]!.der);
  let ecdsa = false;
  try {
    ecdsa = csr.signatureAlgorithm.name === 'ECDSA';
  } catch {
    // an unknown algorithm: verify() below refuses it
  }
  if (signature?.unusedBits !== 0 || (ecdsa && !isDerEcdsaSignature(signature.bytes))) {
    throw new BadRequestError('certificate request could not be parsed');
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok)
    throw new BadRequestError('request signature invalid: the CSR signature does not verify');
  return csr;
}

export interface Sans {
  dns: string[];
  emails: string[];
  ips: string[];
  uris: string[];
}

/** The SANs a CSR or certificate carries. */
export function sansOf(ext: x509.Extension | null): Sans {
  const out: Sans = { dns: [], emails: [], ips: [], uris: [] };
  if (!ext) return out;
  let san: x509.SubjectAlternativeNameExtension;
  try {
    san = new x509.SubjectAlternativeNameExtension(ext.rawData);
  } catch {
    throw new BadRequestError('the subject alternative name extension could not be parsed');
  }
  for (const name of san.names.items) {
    if (name.type === 'dns') out.dns.push(name.value);
    else if (name.type === 'email') out.emails.push(name.value);
    else if (name.type === 'ip') out.ips.push(name.value);
    else if (name.type === 'url') out.uris.push(name.value);
  }
  return out;
}

export const OID_SAN = '2.5.29.17';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';

/** The SAN extension for a set of names, or undefined when there are none. */
export function sanExtension(s: Sans, critical = false): x509.Extension | undefined {
  const names: x509.JsonGeneralName[] = [
    ...s.dns.map((value) => ({ type: 'dns' as const, value })),
    ...s.emails.map((value) => ({ type: 'email' as const, value })),
    ...s.ips.map((value) => ({ type: 'ip' as const, value })),
    ...s.uris.map((value) => ({ type: 'url' as const, value })),
  ];
  if (names.length === 0) return undefined;
  return new x509.SubjectAlternativeNameExtension(names, critical);
}

// ---------------------------------------------------------------- usages

const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
  digitalsignature: x509.KeyUsageFlags.digitalSignature,
  contentcommitment: x509.KeyUsageFlags.nonRepudiation,
  nonrepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyencipherment: x509.KeyUsageFlags.keyEncipherment,
  dataencipherment: x509.KeyUsageFlags.dataEncipherment,
  keyagreement: x509.KeyUsageFlags.keyAgreement,
  certsign: x509.KeyUsageFlags.keyCertSign,
  crlsign: x509.KeyUsageFlags.cRLSign,
  encipheronly: x509.KeyUsageFlags.encipherOnly,
  decipheronly: x509.KeyUsageFlags.decipherOnly,
};

const EXT_KEY_USAGES: Record<string, string> = {
  any: '2.5.29.37.0',
  serverauth: '1.3.6.1.5.5.7.3.1',
  clientauth: '1.3.6.1.5.5.7.3.2',
  codesigning: '1.3.6.1.5.5.7.3.3',
  emailprotection: '1.3.6.1.5.5.7.3.4',
  ipsecendsystem: '1.3.6.1.5.5.7.3.5',
  ipsectunnel: '1.3.6.1.5.5.7.3.6',
  ipsecuser: '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  ocspsigning: '1.3.6.1.5.5.7.3.9',
  microsoftservergatedcrypto: '1.3.6.1.4.1.311.10.3.3',
  netscapeservergatedcrypto: '2.16.840.1.113730.4.1',
  microsoftcommercialcodesigning: '1.3.6.1.4.1.311.2.1.22',
  microsoftkernelcodesigning: '1.3.6.1.4.1.311.61.1.1',
};

/** Vault's key_usage names, case-insensitive, with or without a `KeyUsage` prefix. */
export function keyUsageFlags(names: string[]): number {
  let flags = 0;
  for (const n of names) {
    const key = n.toLowerCase().replace(/^keyusage/, '');
    const flag = KEY_USAGES[key];
    if (flag === undefined) throw new BadRequestError(`unknown key_usage "${n}"`);
    flags |= flag;
  }
  return flags;
}

/** Vault's ext_key_usage names, case-insensitive, with or without an `ExtKeyUsage` prefix. */
export function extKeyUsageOids(names: string[]): string[] {
  return names.map((n) => {
    const oid = EXT_KEY_USAGES[n.toLowerCase().replace(/^extkeyusage/, '')];
    if (oid === undefined) throw new BadRequestError(`unknown ext_key_usage "${n}"`);
    return oid;
  });
}

export function checkOids(values: string[], field: string): string[] {
  for (const v of values) {
    if (!/^[0-2](\.(0|[1-9][0-9]{0,8}))+$/.test(v)) {
      throw new BadRequestError(`${field}: "${v}" is not an object identifier`);
    }
  }
  return values;
}

// ---------------------------------------------------------------- certificates

/** What the issuing CA brings to a signature. */
export interface Signer {
  name: x509.Name;
  key: CryptoKey;
  algorithm: Algorithm;
  /** The issuer's subject key identifier (hex), for the AKI extension. */
  keyIdHex?: string;
}

export interface Urls {
  issuing_certificates: string[];
  crl_distribution_points: string[];
  ocsp_servers: string[];
}

export interface CertSpec {
  serialHex: string;
  subject: x509.Name;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER of the certified key. */
  publicKey: Buffer | ArrayBuffer;
  sans?: Sans;
  ca?: { pathLength?: number };
  keyUsage?: number;
  extKeyUsage?: string[];
  /** Basic constraints CA:FALSE on a leaf (role basic_constraints_valid_for_non_ca). */
  basicConstraintsLeaf?: boolean;
  urls?: Urls;
  permittedDnsDomains?: string[];
  policyIdentifiers?: string[];
  /** Extensions copied as they are (sign-verbatim). */
  extraExtensions?: x509.Extension[];
}

/** Signs a certificate; the issuer is `signer`, or the subject itself when self-signed. */
export async function createCertificate(
  spec: CertSpec,
  signer: Signer,
): Promise<x509.X509Certificate> {
  const extensions: x509.Extension[] = [];
  if (spec.ca) {
    extensions.push(new x509.BasicConstraintsExtension(true, spec.ca.pathLength, true));
  } else if (spec.basicConstraintsLeaf) {
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, true));
  }
  if (spec.keyUsage) extensions.push(new x509.KeyUsagesExtension(spec.keyUsage, true));
  if (spec.extKeyUsage && spec.extKeyUsage.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension(spec.extKeyUsage, false));
  }
  const publicKey = toArrayBuffer(spec.publicKey);
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey);
  extensions.push(ski);
  if (signer.keyIdHex && signer.keyIdHex !== ski.keyId) {
    extensions.push(new x509.AuthorityKeyIdentifierExtension(signer.keyIdHex, false));
  }
  if (spec.urls) {
    const { issuing_certificates: issuers, ocsp_servers: ocsp } = spec.urls;
    if (issuers.length > 0 || ocsp.length > 0) {
      extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp, caIssuers: issuers }, false));
    }
    if (spec.urls.crl_distribution_points.length > 0) {
      extensions.push(new x509.CRLDistributionPointsExtension(spec.urls.crl_distribution_points));
    }
  }
  const san = spec.sans && sanExtension(spec.sans);
  if (san) extensions.push(san);
  if (spec.permittedDnsDomains && spec.permittedDnsDomains.length > 0) {
    extensions.push(nameConstraints(spec.permittedDnsDomains));
  }
  if (spec.policyIdentifiers && spec.policyIdentifiers.length > 0) {
    extensions.push(new x509.CertificatePolicyExtension(spec.policyIdentifiers, false));
  }
  extensions.push(...(spec.extraExtensions ?? []));

  return x509.X509CertificateGenerator.create({
    serialNumber: spec.serialHex,
    subject: spec.subject,
    issuer: signer.name,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions,
  });
}

/** The subject key identifier of a certificate, from its extension or its key. */
export async function keyIdOf(cert: x509.X509Certificate): Promise<string> {
  const ext = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ext) return ext.keyId;
  return Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
}

/** Permitted DNS subtrees, marked critical as Go does. */
function nameConstraints(domains: string[]): x509.Extension {
  const der = derSequence(
    derTagged(
      0,
      true,
      Buffer.concat(domains.map((d) => derSequence(derTagged(2, false, Buffer.from(d, 'ascii'))))),
    ),
  );
  return new x509.Extension('2.5.29.30', true, toArrayBuffer(der));
}

/** Path length of a CA certificate: undefined when unlimited, -1 when not a CA. */
export function pathLengthOf(cert: x509.X509Certificate): { ca: boolean; pathLength?: number } {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc) return { ca: false };
  return { ca: bc.ca, pathLength: bc.pathLength };
}

// ---------------------------------------------------------------- CSR out

export async function createCsr(
  subject: x509.Name,
  keys: CryptoKeyPair,
  algorithm: Algorithm,
  sans: Sans,
  addBasicConstraints: boolean,
): Promise<x509.Pkcs10CertificateRequest> {
  const extensions: x509.Extension[] = [];
  const san = sanExtension(sans);
  if (san) extensions.push(san);
  if (addBasicConstraints)
    extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys,
    signingAlgorithm: algorithm,
    extensions,
  });
}

// ---------------------------------------------------------------- CRL

export interface CrlEntry {
  serialHex: string;
  revokedAt: Date;
}

export async function createCrl(opts: {
  signer: Signer;
  number: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: CrlEntry[];
}): Promise<Buffer> {
  const extensions: x509.Extension[] = [
    new x509.Extension('2.5.29.20', false, AsnConvert.serialize(new CRLNumber(opts.number))),
  ];
  if (opts.signer.keyIdHex) {
    extensions.unshift(new x509.AuthorityKeyIdentifierExtension(opts.signer.keyIdHex, false));
  }
  const crl = await x509.X509CrlGenerator.create({
    issuer: opts.signer.name,
    thisUpdate: opts.thisUpdate,
    nextUpdate: opts.nextUpdate,
    entries: opts.entries.map((e) => ({ serialNumber: e.serialHex, revocationDate: e.revokedAt })),
    extensions,
    signingAlgorithm: opts.signer.algorithm,
    signingKey: opts.signer.key,
  });
  return Buffer.from(crl.rawData);
}

// ---------------------------------------------------------------- DER bits

/** A standalone ArrayBuffer holding exactly these bytes. */
export function toArrayBuffer(data: Buffer | ArrayBuffer): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data;
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derSequence(content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x30]), derLength(content.length), content]);
}

function derTagged(tag: number, constructed: boolean, content: Buffer): Buffer {
  const id = 0x80 | (constructed ? 0x20 : 0) | tag;
  return Buffer.concat([Buffer.from([id]), derLength(content.length), content]);
}
