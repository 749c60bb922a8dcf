// A clean clone with nothing beside it must pass its tests: no file of the repository may read a "shared" folder
// beside it (reference material lives outside the repository; the tests carry fixtures of their own).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');
const self = path.relative(root, import.meta.filename);

// `../shared`, `/work/shared`, or path segments such as path.join(dir, '..', '..', 'shared', ...)
const OUTSIDE = /(?:\.\.|\/work)[\\/]shared\b|['"]\.\.['"]\s*,\s*(?:['"]\.\.['"]\s*,\s*)*['"]shared['"]/;

function repositoryFiles(): string[] {
  // tracked files and new ones not yet committed (ignored ones such as node_modules/ and .capacity/ are not the repository's)
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  return [...new Set(out.split('\0').filter(Boolean))];
}

function outsideReads(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => OUTSIDE.test(line))
    .map((line) => line.trim());
}

describe('the repository is self-contained', () => {
  it('the pattern finds each way of naming the folder beside the repository', () => {
    assert.deepEqual(
      outsideReads(
        [
          "readFileSync('../shared/reference/hq-fixtures/a.xml')",
          "path.resolve(here, '..', '..', 'shared', 'reference')",
          'path.join(dir, "..", "shared")',
          'cat /work/shared/reference/COMMCARE.md',
          '// the shared corpus is never changed',
          "sharedKafkaHandle(registry, ['..'])",
          '# (shared/reference/seeds/000, "VM summary")',
        ].join('\n'),
      ).length,
      4,
    );
  });

  it('no file reads ../shared', () => {
    const files = repositoryFiles().filter((f) => f !== self);
    assert.ok(files.includes('package.json'), `listed the repository's files (${files.length})`);
    const found: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(path.join(root, file), 'utf8');
      } catch {
        continue; // listed but gone from the work tree (deleted, not yet committed)
      }
      for (const line of outsideReads(text)) found.push(`${file}: ${line}`);
    }
    assert.deepEqual(found, []);
  });
});
