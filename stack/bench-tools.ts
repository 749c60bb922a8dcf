// The benchmarks' prerequisites, wrk (Debian) and Locust (PyPI, in a venv under .capacity/): where they are, which
// version is there, and the one command that installs them (the bootstrap, which reads the same files).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, stackPaths } from '../core/paths.ts';

export const BENCH_INSTALL = 'scripts/bootstrap.sh --bench';

export type BenchToolName = 'wrk' | 'locust';

export interface BenchTool {
  name: BenchToolName;
  /** the version found, when found */
  version?: string;
  /** the version wanted, when pinned */
  wanted?: string;
  /** what runs it */
  command: string;
  ok: boolean;
  state: 'found' | 'missing' | 'other version';
}

export function locustVenv(home = stackPaths().home): string {
  return path.join(home, 'venv', 'locust');
}

/** The Locust version scripts/bench-requirements.txt pins (what `--bench` installs). */
export function pinnedLocustVersion(requirements = path.join(repoRoot, 'scripts', 'bench-requirements.txt')): string {
  const pin = /^locust==([^\s;#]+)/m.exec(fs.readFileSync(requirements, 'utf8'))?.[1];
  if (!pin) throw new Error(`${requirements} pins no Locust version (a line locust==X.Y.Z)`);
  return pin;
}

/** Locust's version in the venv, from its package metadata (no Python start: doctor and benches ask often). */
export function locustVersionIn(venv: string): string | undefined {
  const lib = path.join(venv, 'lib');
  if (!fs.existsSync(path.join(venv, 'bin', 'locust')) || !fs.existsSync(lib)) return undefined;
  for (const py of fs
    .readdirSync(lib)
    .filter((d) => d.startsWith('python3'))
    .sort()) {
    const site = path.join(lib, py, 'site-packages');
    const dist = fs.existsSync(site) ? fs.readdirSync(site).find((d) => /^locust-[^-]+\.dist-info$/.test(d)) : undefined;
    if (dist) return dist.slice('locust-'.length, -'.dist-info'.length);
  }
  return undefined;
}

/** wrk's version as `wrk -v` prints it ("wrk debian/4.1.0-3+b2 [epoll] ..."); undefined when there is no wrk. */
export function wrkVersion(command = 'wrk'): string | undefined {
  const res = spawnSync(command, ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (res.error) return undefined;
  return /^wrk\s+(?:\S+\/)?(\d[\w.~+-]*)/m.exec(`${res.stdout ?? ''}${res.stderr ?? ''}`)?.[1];
}

export function benchTools(home = stackPaths().home): BenchTool[] {
  const wrk = wrkVersion();
  const venv = locustVenv(home);
  const wanted = pinnedLocustVersion();
  const locust = locustVersionIn(venv);
  return [
    { name: 'wrk', version: wrk, command: 'wrk', ok: !!wrk, state: wrk ? 'found' : 'missing' },
    {
      name: 'locust',
      version: locust,
      wanted,
      command: path.join(venv, 'bin', 'locust'),
      ok: locust === wanted,
      state: !locust ? 'missing' : locust === wanted ? 'found' : 'other version',
    },
  ];
}
