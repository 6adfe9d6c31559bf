/**
 * `keep server` refuses flag mistakes that would otherwise start the default
 * server and create ./keep-data where the user did not mean to.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KEEP_BIN, removeDir, tempDir } from './helpers/keep-server.ts';

describe('keep server flag mistakes', () => {
  const dir = tempDir();
  after(() => removeDir(dir));

  const cases: Array<[string[], RegExp]> = [
    [['-config='], /-config was given an empty path/],
    [['-dev-root-token-id=x'], /-dev-root-token-id only applies with -dev/],
    [['-dev-listen-address=127.0.0.1:1'], /-dev-listen-address only applies with -dev/],
    [['-dev', '-log-level=loud'], /invalid value for the log level .*"loud"/],
    [['-dev', '-config=x.hcl'], /-dev and -config cannot be used together/],
  ];
  for (const [args, message] of cases) {
    it(`refuses ${args.join(' ')} with exit 1, creating nothing`, () => {
      const run = spawnSync(process.execPath, [KEEP_BIN, 'server', ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, KEEP_LOG_LEVEL: '' },
        timeout: 10_000,
      });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(existsSync(join(dir, 'keep-data')), false);
    });
  }
});
