// Object storage as a folder, written durably: a blob is in place (file and directory entry fsynced)
// before the form that names it is committed, so an acknowledged form never points at a missing blob.
import fs from 'node:fs/promises';
import path from 'node:path';

export class BlobStore {
  /** Directories known to exist durably (created here and their parent fsynced, or found existing and fsynced). */
  private durableDirs = new Map<string, Promise<void>>();

  constructor(readonly root: string) {}

  /**
   * Writes the blobs of one form as files `<dir>/<base>.<name>` in a shared directory: each file is fsynced, then the
   * directory once (its new entries). Cheaper than a directory per form (no mkdir, one directory fsync fewer).
   * Returns the keys, in order.
   */
  async putFlat(dir: string, base: string, blobs: { name: string; data: Buffer }[]): Promise<string[]> {
    const full = this.pathOf(dir);
    await this.ensureDurableDir(full);
    const keys = blobs.map((b) => `${dir}/${base}.${b.name}`);
    // at most 16 files open at once: a form may carry thousands of tiny parts, and EMFILE would be a 500
    for (let i = 0; i < blobs.length; i += 16) {
      await Promise.all(blobs.slice(i, i + 16).map((b, j) => writeDurably(this.pathOf(keys[i + j]!), b.data)));
    }
    await syncDir(full);
    return keys;
  }

  /** mkdir -p, with every directory it creates made durable (its parent fsynced) before any file goes in. */
  private ensureDurableDir(full: string): Promise<void> {
    let p = this.durableDirs.get(full);
    if (!p) {
      p = (async () => {
        const parent = path.dirname(full);
        if (parent.startsWith(this.root) && parent !== this.root) await this.ensureDurableDir(parent);
        else await fs.mkdir(parent, { recursive: true });
        await fs.mkdir(full, { recursive: true });
        await syncDir(parent);
      })();
      p.catch(() => this.durableDirs.delete(full));
      this.durableDirs.set(full, p);
      if (this.durableDirs.size > 100_000) this.durableDirs.clear();
    }
    return p;
  }

  pathOf(key: string): string {
    if (key.includes('..') || path.isAbsolute(key)) throw new Error(`bad blob key ${key}`);
    return path.join(this.root, key);
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

async function writeDurably(file: string, data: Buffer): Promise<void> {
  const fh = await fs.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
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
