/**
 * The one bundler of generator code for k6: an entry (the scenarios' scenarios/lib/k6-deps.ts, or the whole
 * generators/k6.ts) into one ES module that k6 runs (no Node APIs; k6/* left external), written atomically.
 * With builtinApps the built-in apps' YAML is embedded, so `createPopulation({ app: 'household' })` works in k6.
 */
import { renameSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { builtinAppTexts } from './apps.ts';

/** generators/k6.ts: everything the generators offer k6. */
export const GENERATORS_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'k6.ts');

export interface BundleSpec {
  entry: string;
  outFile: string;
  builtinApps?: boolean;
  minify?: boolean;
}

export async function buildK6Bundle(spec: BundleSpec): Promise<{ outFile: string; bytes: number }> {
  const outFile = path.resolve(spec.outFile);
  mkdirSync(path.dirname(outFile), { recursive: true });
  const tmp = `${outFile}.${process.pid}.tmp`;
  await build({
    entryPoints: [spec.entry],
    outfile: tmp,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['import', 'default'],
    target: 'es2020',
    external: ['k6', 'k6/*'],
    minify: spec.minify ?? true,
    legalComments: 'none',
    logLevel: 'silent',
    define: { __CAPACITY_BUILTIN_APPS__: spec.builtinApps ? JSON.stringify(builtinAppTexts()) : '{}' },
  });
  renameSync(tmp, outFile);
  return { outFile, bytes: statSync(outFile).size };
}
