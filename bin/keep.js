#!/usr/bin/env node
// The `keep` command: the bundle built by `npm run build` (run by `npm ci`
// through the `prepare` script).
import '../dist/keep.mjs';
