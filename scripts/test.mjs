// Runs every test file under src/ and test/ with node's own runner.
// Node 20's runner neither expands globs nor finds .ts files by itself, so
// the list is built here; an empty list is an error, never a green run.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/**
 * Debian packages the suites drive: the real clients and the tools the tests
 * call. As root the set-up installs what is missing; otherwise it names it,
 * and the suites that need it say loudly that they were skipped.
 */
const DEBIAN_PACKAGES = [
  'python3-hvac',
  'python3-consul',
  'curl',
  'openssl',
  'prometheus',
  'etcd-server',
  'postgresql',
  'haproxy',
];

function missingPackages() {
  return DEBIAN_PACKAGES.filter((pkg) => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

function installPackages() {
  const missing = missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`\n*** missing Debian packages: ${missing.join(' ')}`);
    console.error(`*** install them as root: apt-get install ${missing.join(' ')} ***\n`);
    return;
  }
  console.error(`installing Debian packages the tests need: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...missing],
  ]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) {
      console.error(
        `apt-get ${args[0]} failed (exit ${r.status}); the suites that need it will say so`,
      );
      return;
    }
  }
}

installPackages();

const filters = process.argv.slice(2);
let files = [...findTests('src'), ...findTests('test')].sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Every temporary file and folder the tests make goes under one directory,
// removed afterwards, so a run leaves nothing behind in /tmp.
const scratch = mkdtempSync(join(tmpdir(), 'keep-tests-'));
// Traversable by other users: the PostgreSQL suites run initdb as `postgres`.
chmodSync(scratch, 0o755);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: { ...process.env, TMPDIR: scratch } },
);
rmSync(scratch, { recursive: true, force: true });
process.exit(result.status ?? 1);
