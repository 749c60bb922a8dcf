// File writes that never leave a half-written file behind.
import fs from 'node:fs';
import path from 'node:path';

/** Writes a file so that readers see either the old or the new content, never half of it. */
export function writeFileAtomic(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
