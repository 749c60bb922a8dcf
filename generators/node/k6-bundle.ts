/**
 * Builds generators/k6.ts into one ES module that k6 runs (no Node APIs; k6/* left external).
 * The built-in apps' YAML is embedded, so `createPopulation({ app: 'household' })` works in k6.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { builtinAppTexts } from './apps.ts';

const GENERATORS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.join(GENERATORS_DIR, '..');
export const DEFAULT_BUNDLE = path.join(REPO_ROOT, '.capacity', 'build', 'generators.k6.js');

export interface BundleOptions {
  outFile?: string;
  minify?: boolean;
  sourcemap?: boolean;
}

export async function buildK6Bundle(opts: BundleOptions = {}): Promise<{ outFile: string; bytes: number }> {
  const outFile = path.resolve(opts.outFile ?? DEFAULT_BUNDLE);
  mkdirSync(path.dirname(outFile), { recursive: true });
  await build({
    entryPoints: [path.join(GENERATORS_DIR, 'k6.ts')],
    outfile: outFile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['import', 'default'],
    target: 'es2020',
    external: ['k6', 'k6/*'],
    minify: opts.minify ?? true,
    sourcemap: opts.sourcemap ?? false,
    legalComments: 'none',
    logLevel: 'silent',
    define: { __CAPACITY_BUILTIN_APPS__: JSON.stringify(builtinAppTexts()) },
    banner: { js: '// capacity generators for k6 — built by scripts/build-k6-bundle.ts from generators/k6.ts' },
  });
  return { outFile, bytes: statSync(outFile).size };
}

/** The k6 binary to use: .capacity/bin/k6 if installed there, else /tmp/k6build/bin/k6, else undefined. */
export function findK6(): string | undefined {
  for (const p of [process.env.CAPACITY_K6, path.join(REPO_ROOT, '.capacity', 'bin', 'k6'), '/tmp/k6build/bin/k6']) {
    if (!p) continue;
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not there
    }
  }
  return undefined;
}
