// File writes that never leave a half-written file behind.
import fs from 'node:fs';
import path from 'node:path';

/** Writes a file so that readers see either the old or the new content, never half of it; `mode` from its creation on (0o600: secrets). */
export function writeFileAtomic(file: string, content: string | Buffer, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, content, mode === undefined ? undefined : { mode });
  if (mode !== undefined) fs.chmodSync(tmp, mode); // whatever the umask
  fs.renameSync(tmp, file);
}
