// Bundles the CLI (which includes the server) into dist/keep.mjs. Dependencies
// stay external and load from node_modules, so native modules keep working.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/keep.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
