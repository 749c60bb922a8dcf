// Object storage as a folder, written durably: a blob is in place (file and directory entry fsynced)
// before the form that names it is committed, so an acknowledged form never points at a missing blob.
import fs from 'node:fs/promises';
import path from 'node:path';

export class BlobStore {
  constructor(readonly root: string) {}

  pathOf(key: string): string {
    if (key.includes('..') || path.isAbsolute(key)) throw new Error(`bad blob key ${key}`);
    return path.join(this.root, key);
  }

  /** Writes every blob of one form under `dir/`, fsyncing the files and the directories that changed. */
  async putAll(dir: string, blobs: { name: string; data: Buffer }[]): Promise<void> {
    const full = this.pathOf(dir);
    await fs.mkdir(full, { recursive: true });
    await Promise.all(
      blobs.map(async (b) => {
        const fh = await fs.open(path.join(full, b.name), 'w');
        try {
          await fh.writeFile(b.data);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }),
    );
    await syncDir(full);
    await syncDir(path.dirname(full));
  }

  async get(key: string): Promise<Buffer> {
    return fs.readFile(this.pathOf(key));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
