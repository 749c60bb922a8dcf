// Lists the imports that cross folders against the intended order (README, "Architecture"): a folder may import
// only the folders before it. Exits 1 when any does. Imports are read by TypeScript's own pre-processor.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { repoRoot } from '../core/paths.ts';

/** Lowest first: the data flows this way. */
export const LAYERS = [
  'core',
  'generators',
  'scenarios',
  'topology',
  'results-dir',
  'hq',
  'stack',
  'collectors',
  'docker',
  'targets',
  'runner',
  'k8s',
  'reports',
  'gates',
  'cli',
] as const;
/** Outside the order: they may import any layer (nothing imports them). */
const TOP = new Set(['bench', 'test', 'scripts']);

export interface Crossing {
  file: string;
  imports: string;
  from: string;
  to: string;
}

function folderOf(file: string): string {
  return file.split('/')[0]!;
}

/** Every import of a project file that points at a folder not below the importer's. */
export function crossings(root: string, files: string[]): Crossing[] {
  const rank = new Map<string, number>(LAYERS.map((l, i) => [l, i]));
  const out: Crossing[] = [];
  for (const file of files) {
    const from = folderOf(file);
    if (TOP.has(from) || !rank.has(from)) continue;
    const info = ts.preProcessFile(fs.readFileSync(path.join(root, file), 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = path.relative(root, path.resolve(root, path.dirname(file), ref.fileName));
      const to = folderOf(target);
      if (to === from) continue;
      // a test may use the shared test helpers
      if (to === 'test' && file.endsWith('.test.ts')) continue;
      if (!rank.has(to) || rank.get(to)! > rank.get(from)!) out.push({ file, imports: target, from, to });
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = repoRoot;
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const found = crossings(root, files);
  for (const c of found) console.log(`${c.file} -> ${c.imports}  (${c.from} may not import ${c.to})`);
  console.log(`layers: ${found.length} imports cross folders against the order ${LAYERS.join(' < ')}`);
  process.exitCode = found.length ? 1 : 0;
}
