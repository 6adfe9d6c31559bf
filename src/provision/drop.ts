/**
 * Where `keep provision` leaves a workload's AppRole credentials and where
 * `keep env --approle-from` picks them up: `<drop>/<workload>/role-id` and
 * either `secret-id` or, when wrapped, `wrapped-secret-id` (a one-use
 * wrapping token). Local folders are made 0700 and files 0600, written to a
 * temporary name and renamed, so a retry or a reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalError } from '../cli/errors.ts';
import { checkName } from './env-vars.ts';
import { s3Read, s3Remove, s3Write } from './s3-drop.ts';

export const ROLE_ID_FILE = 'role-id';
export const SECRET_ID_FILE = 'secret-id';
export const WRAPPED_SECRET_ID_FILE = 'wrapped-secret-id';

type Env = Readonly<Record<string, string | undefined>>;

export type DropLocation =
  | { kind: 'file'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string };

/** `file:///abs/dir` or `s3://bucket/prefix`; anything else is a LocalError naming the URL. */
export function parseDropUrl(url: string): DropLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LocalError(
      `invalid drop URL ${JSON.stringify(url)}: expected file:///path or s3://bucket/prefix`,
    );
  }
  if (parsed.protocol === 'file:') {
    if (parsed.host !== '' && parsed.host !== 'localhost') {
      throw new LocalError(`invalid drop URL ${JSON.stringify(url)}: file URLs name a local path`);
    }
    const dir = fileURLToPath(parsed).replace(/\/+$/, '');
    if (dir === '') throw new LocalError(`invalid drop URL ${JSON.stringify(url)}: no folder`);
    return { kind: 'file', dir };
  }
  if (parsed.protocol === 's3:') {
    if (!parsed.hostname)
      throw new LocalError(`invalid drop URL ${JSON.stringify(url)}: no bucket`);
    return {
      kind: 's3',
      bucket: parsed.hostname,
      prefix: parsed.pathname.replace(/^\/+|\/+$/g, ''),
    };
  }
  throw new LocalError(
    `invalid drop URL ${JSON.stringify(url)}: expected file:///path or s3://bucket/prefix`,
  );
}

export interface DroppedCredentials {
  roleId: string;
  secretId: string;
  /** True when `secretId` is a wrapping token to unwrap first. */
  wrapped: boolean;
}

function checkWorkload(workload: string): void {
  const bad = checkName('workload', workload);
  if (bad) throw new LocalError(bad);
}

function workloadDir(loc: { dir: string }, workload: string): string {
  checkWorkload(workload);
  return join(loc.dir, workload);
}

async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
  await chmod(path, 0o600);
}

/** Leaves the credentials at `<drop>/<workload>/`, replacing any earlier ones. */
export async function writeDrop(
  loc: DropLocation,
  workload: string,
  creds: DroppedCredentials,
  env: Env = process.env,
): Promise<string> {
  const [keep, stale] = creds.wrapped
    ? [WRAPPED_SECRET_ID_FILE, SECRET_ID_FILE]
    : [SECRET_ID_FILE, WRAPPED_SECRET_ID_FILE];
  if (loc.kind === 's3') {
    checkWorkload(workload);
    return s3Write(
      env,
      loc.bucket,
      loc.prefix,
      workload,
      { [ROLE_ID_FILE]: `${creds.roleId}\n`, [keep]: `${creds.secretId}\n` },
      [stale],
    );
  }
  const dir = workloadDir(loc, workload);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writePrivate(join(dir, ROLE_ID_FILE), `${creds.roleId}\n`);
  await writePrivate(join(dir, keep), `${creds.secretId}\n`);
  await rm(join(dir, stale), { force: true });
  return dir;
}

/** Removes `<drop>/<workload>/`; nothing there is not an error. */
export async function removeDrop(
  loc: DropLocation,
  workload: string,
  env: Env = process.env,
): Promise<void> {
  if (loc.kind === 's3') {
    checkWorkload(workload);
    return s3Remove(env, loc.bucket, loc.prefix, workload);
  }
  await rm(workloadDir(loc, workload), { recursive: true, force: true });
}

/** Reads a one-line credential file; a missing or unreadable file is a LocalError naming it. */
export async function readCredentialFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new LocalError(`cannot read the ${what} from ${path}: ${code}`);
  }
  const value = text.trim();
  if (!value) throw new LocalError(`the ${what} file ${path} is empty`);
  return value;
}

/**
 * Reads what `writeDrop` left. `url` names the workload's folder itself
 * (`file:///drop/checkout-production`), as `keep env --approle-from` takes it.
 */
export async function readDrop(
  loc: DropLocation,
  env: Env = process.env,
): Promise<DroppedCredentials> {
  if (loc.kind === 's3') {
    const where = `s3://${loc.bucket}/${loc.prefix}/`;
    const got = await s3Read(env, loc.bucket, loc.prefix, [
      ROLE_ID_FILE,
      WRAPPED_SECRET_ID_FILE,
      SECRET_ID_FILE,
    ]);
    const roleId = got[ROLE_ID_FILE];
    if (!roleId)
      throw new LocalError(`cannot read the role ID from ${where}${ROLE_ID_FILE}: not there`);
    const wrapped = got[WRAPPED_SECRET_ID_FILE];
    if (wrapped) return { roleId, secretId: wrapped, wrapped: true };
    const secretId = got[SECRET_ID_FILE];
    if (!secretId) {
      throw new LocalError(
        `cannot read the secret ID from ${where}: neither ${SECRET_ID_FILE} nor ${WRAPPED_SECRET_ID_FILE} is there`,
      );
    }
    return { roleId, secretId, wrapped: false };
  }
  const roleId = await readCredentialFile(join(loc.dir, ROLE_ID_FILE), 'role ID');
  const wrappedPath = join(loc.dir, WRAPPED_SECRET_ID_FILE);
  try {
    const secretId = await readCredentialFile(wrappedPath, 'wrapped secret ID');
    return { roleId, secretId, wrapped: true };
  } catch (err) {
    if (!(err instanceof LocalError) || !/ENOENT/.test(err.message)) throw err;
  }
  const secretId = await readCredentialFile(join(loc.dir, SECRET_ID_FILE), 'secret ID');
  return { roleId, secretId, wrapped: false };
}
