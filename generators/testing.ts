/** Test helpers shared by the generators' tests (not part of the public API). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAppText, type AppDefinition } from './app.ts';

export function builtin(name: string): AppDefinition {
  return parseAppText(readFileSync(path.join(import.meta.dirname, 'apps', `${name}.yaml`), 'utf8'), `${name}.yaml`);
}

/** FNV-1a over strings: a cheap fingerprint to compare streams (same algorithm in the k6 test script). */
export function fnv1a(strings: Iterable<string>): string {
  let h = 0x811c9dc5;
  for (const s of strings) {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x0a;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
