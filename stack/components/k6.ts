// k6, built from source with `go install` into the stack home (the binary is the cache: built once).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../cli/errors.ts';
import type { Component, StackContext } from '../component.ts';
import { k6Module, versions } from '../config.ts';
import { run } from '../process.ts';

export function k6Binary(ctx: Pick<StackContext, 'paths'>): string {
  return path.join(ctx.paths.bin, `k6-${versions.k6}`, 'k6');
}

export function k6Version(binary: string): string | undefined {
  const res = spawnSync(binary, ['version'], { encoding: 'utf8' });
  return res.status === 0 ? /k6 (v[\d.]+)/.exec(res.stdout)?.[1] : undefined;
}

export const k6: Component = {
  name: 'k6',
  version: versions.k6,
  ports: () => [],
  isInstalled: (ctx) => fs.existsSync(k6Binary(ctx)),
  async install(ctx) {
    if (this.isInstalled(ctx)) return;
    if (spawnSync('go', ['version']).status !== 0) throw new UserError('Go is not installed: k6 is built with `go install`');
    const out = path.dirname(k6Binary(ctx));
    const tmp = `${out}.partial`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    ctx.progress.step(`k6: building ${k6Module}@${versions.k6} with go install (first time only, a few minutes)`);
    const started = Date.now();
    const beat = setInterval(() => ctx.progress.step(`k6: still building (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
    try {
      await run('go', ['install', `${k6Module}@${versions.k6}`], {
        what: `go install ${k6Module}@${versions.k6}`,
        env: { ...process.env, GOBIN: tmp, CGO_ENABLED: '0' },
        cwd: tmp,
        timeoutMs: 30 * 60_000,
      });
    } finally {
      clearInterval(beat);
    }
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(tmp, out);
  },
  endpoint: (ctx) => k6Binary(ctx),
  logFile: (ctx) => path.join(ctx.paths.logs, 'k6-build.log'),
};
