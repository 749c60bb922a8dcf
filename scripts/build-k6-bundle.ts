#!/usr/bin/env -S node --import tsx
// Builds the generators into one JS module for k6: node --import tsx scripts/build-k6-bundle.ts [--out FILE] [--no-minify]
import path from 'node:path';
import { repoRoot } from '../core/paths.ts';
import { buildK6Bundle, GENERATORS_ENTRY } from '../generators/node/k6-bundle.ts';

const DEFAULT_BUNDLE = path.join(repoRoot, '.capacity', 'build', 'generators.k6.js');

const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const outFile = outIdx >= 0 ? args[outIdx + 1] : DEFAULT_BUNDLE;
if (!outFile) {
  process.stderr.write('build-k6-bundle: --out needs a file name\n');
  process.exit(2);
}
const { outFile: written, bytes } = await buildK6Bundle({
  entry: GENERATORS_ENTRY,
  outFile,
  builtinApps: true,
  minify: !args.includes('--no-minify'),
});
process.stdout.write(`${written} (${(bytes / 1024).toFixed(0)} KiB)\n`);
