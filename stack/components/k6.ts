// k6, built from source with the Go toolchain into the stack home (the binary is the cache: built once): k6's own
// command plus capacity's extension k6/x/capacity (k6x/: the scenarios' submission path in Go). k6x/go.mod pins
// the k6 release (versions.k6); the build's folder is named after a digest of k6x's sources, so a change to the
// extension builds a new binary and an unchanged one is reused.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Component, StackContext } from '../component.ts';
import { versions } from '../config.ts';
import { repoRoot } from '../../core/paths.ts';
import { run } from '../process.ts';

/** The Go module of capacity's k6 build. */
export const k6xDir = path.join(repoRoot, 'k6x');
/** The extension's module name: a script importing it runs only on capacity's build. */
export const NATIVE_MODULE = 'k6/x/capacity';

/** Digest of k6x's sources (go.mod, go.sum, every .go file but tests): names the build. */
export function k6xDigest(dir = k6xDir): string {
  const h = createHash('sha256');
  const files = (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => (f.endsWith('.go') && !f.endsWith('_test.go')) || f === 'go.mod' || f === 'go.sum')
    .sort();
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(fs.readFileSync(path.join(dir, f)))
      .update('\0');
  return h.digest('hex').slice(0, 12);
}

export function k6Binary(ctx: Pick<StackContext, 'paths'>): string {
  return path.join(ctx.paths.bin, `k6-${versions.k6}-capacity-${k6xDigest()}`, 'k6');
}

/**
 * What `k6 version` says of a binary, from one run of it: the release, and the JavaScript modules its extensions
 * add (listed as "<go package>, k6/x/name [js]"). Nothing when the binary does not run.
 */
export function k6Build(binary: string): { version?: string; jsExtensions: string[] } {
  const res = spawnSync(binary, ['version'], { encoding: 'utf8' });
  if (res.status !== 0) return { jsExtensions: [] };
  return {
    version: /k6 (v[\d.]+)/.exec(res.stdout)?.[1],
    jsExtensions: [...res.stdout.matchAll(/(k6\/x\/[\w./-]+) \[js\]/g)].map((m) => m[1]!),
  };
}

export function k6Version(binary: string): string | undefined {
  return k6Build(binary).version;
}

export const k6: Component = {
  name: 'k6',
  version: `${versions.k6} + ${NATIVE_MODULE}`,
  ports: () => [],
  isInstalled: (ctx) => fs.existsSync(k6Binary(ctx)),
  async install(ctx) {
    if (this.isInstalled(ctx)) return;
    if (spawnSync('go', ['version']).status !== 0) throw new UserError('Go is not installed: k6 is built with the Go toolchain');
    const out = path.dirname(k6Binary(ctx));
    const tmp = `${out}.partial`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    ctx.progress.step(`k6: building k6 ${versions.k6} with ${NATIVE_MODULE} (k6x/) with go build (first time only, a few minutes)`);
    const started = Date.now();
    const beat = setInterval(() => ctx.progress.step(`k6: still building (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
    try {
      // -mod=readonly: go.sum as committed decides every module (fetched from the Go module proxy)
      await run('go', ['build', '-mod=readonly', '-trimpath', '-o', path.join(tmp, 'k6'), '.'], {
        what: `go build of k6 ${versions.k6} with ${NATIVE_MODULE}`,
        env: { ...process.env, CGO_ENABLED: '0' },
        cwd: k6xDir,
        timeoutMs: 30 * 60_000,
      });
    } finally {
      clearInterval(beat);
    }
    const built = k6Version(path.join(tmp, 'k6'));
    if (built !== versions.k6)
      throw new Error(`k6x/ built k6 ${built ?? '(does not run)'}, expected ${versions.k6}: k6x/go.mod and stack/config.ts disagree`);
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(tmp, out);
    // earlier builds (another k6 release or extension source) are not used again
    for (const d of fs.readdirSync(ctx.paths.bin)) {
      if (/^k6-v[\d.]+(-capacity-\w+)?$/.test(d) && path.join(ctx.paths.bin, d) !== out)
        fs.rmSync(path.join(ctx.paths.bin, d), { recursive: true, force: true });
    }
  },
  endpoint: (ctx) => k6Binary(ctx),
  logFile: (ctx) => path.join(ctx.paths.logs, 'k6-build.log'),
};
