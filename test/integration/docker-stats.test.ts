// The docker-stats host collector against a real container: a shell loop under --cpus 0.5 must read as about
// 100 % of its limit (a broad bound: the machine is shared), an idle one as little. The image is a scratch one
// holding this machine's dash and its libc (no registry needed). Skipped only when no Docker engine answers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerGet, dockerSocketPath, dockerStatsCollector } from '../../collectors/docker-stats.ts';
import type { Sample } from '../../collectors/types.ts';

const IMAGE = 'capacity-test-dash:1';
const LABEL = 'capacity.stack=docker-stats-test';
const BUSY = `capacity-test-busy-${process.pid}`;
const IDLE = `capacity-test-idle-${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function engine(): Promise<string | undefined> {
  try {
    await dockerGet(dockerSocketPath(), '/version', 2000);
  } catch (err) {
    return `no Docker engine at ${dockerSocketPath()} (${(err as Error).message})`;
  }
  try {
    execFileSync('docker', ['version', '--format', '{{.Client.Version}}'], { stdio: 'pipe' });
  } catch {
    return 'no docker CLI to make the test image';
  }
  return undefined;
}

const skip = await engine();
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();

/** A scratch image holding /bin/sh (dash) and the libraries it links, from this machine. */
function ensureImage() {
  try {
    docker('image', 'inspect', IMAGE);
    return;
  } catch {
    // not made yet
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-dash-'));
  try {
    const files = ['/usr/bin/dash', ...execFileSync('ldd', ['/usr/bin/dash'], { encoding: 'utf8' }).matchAll(/(\/\S+\.so[.\d]*)/g)].map(
      (m) => (typeof m === 'string' ? m : m[1]!),
    );
    for (const f of files) {
      const to = path.join(dir, f === '/usr/bin/dash' ? '/bin/sh' : f);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(fs.realpathSync(f), to);
      fs.chmodSync(to, 0o755);
    }
    execFileSync('sh', ['-c', `tar -C '${dir}' -c . | docker import - ${IMAGE}`], { stdio: 'pipe' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function readings(container: string, host: string, n: number): Promise<Sample[][]> {
  const c = dockerStatsCollector({ host, container });
  const out: Sample[][] = [];
  for (let i = 0; i < n; i++) {
    out.push(await c.sample(new Date()));
    await sleep(1000);
  }
  return out;
}
const last = (xs: Sample[][], metric: string) => xs.at(-1)!.find((s) => s.metric === metric)?.value;

describe('docker-stats collector on a real container', { skip }, () => {
  before(() => {
    ensureImage();
    docker(
      'run',
      '-d',
      '--name',
      BUSY,
      '--label',
      LABEL,
      '--cpus',
      '0.5',
      '--memory',
      '64m',
      IMAGE,
      '/bin/sh',
      '-c',
      'while :; do :; done',
    );
    // -i keeps the idle shell waiting on its stdin (the image has no sleep)
    docker('run', '-d', '-i', '--name', IDLE, '--label', LABEL, '--cpus', '1', '--memory', '32m', IMAGE, '/bin/sh', '-c', 'read x');
  });
  after(() => {
    for (const name of [BUSY, IDLE]) {
      try {
        docker('rm', '-f', name);
      } catch {
        // already gone
      }
    }
  });

  it('a busy loop under --cpus 0.5 reads near 100 % of its limit; an idle container near 0', async () => {
    await sleep(1500);
    const busy = await readings(BUSY, 'pillow1', 4);
    const idle = await readings(IDLE, 'redis1', 3);
    assert.equal(last(busy, 'cpu_limit_cores'), 0.5);
    assert.equal(last(busy, 'mem_limit_bytes'), 64 * 1024 * 1024);
    const pct = last(busy, 'cpu_limit_pct')!;
    // 0.5 cores is a quarter of this 2-core machine: even shared, the loop gets most of it
    assert.ok(pct > 60 && pct < 115, `busy container at ${pct} % of its limit`);
    assert.ok(last(busy, 'cpu_throttled_pct')! > 30, 'the CFS quota throttles it');
    assert.ok(last(idle, 'cpu_limit_pct')! < 10, `idle container at ${last(idle, 'cpu_limit_pct')} %`);
    assert.equal(last(idle, 'mem_limit_bytes'), 32 * 1024 * 1024);
    assert.ok(busy.flat().every((s) => s.labels.via === 'docker' && s.host === 'pillow1'));
  });

  it('a stopped container is an error, not zeros; after a restart it reads again', async () => {
    const c = dockerStatsCollector({ host: 'pillow1', container: BUSY });
    await c.sample(new Date());
    docker('stop', '-t', '0', BUSY);
    await assert.rejects(c.sample(new Date()), /is not running/);
    docker('start', BUSY);
    await sleep(1500);
    const again = await c.sample(new Date());
    assert.equal(again.find((s) => s.metric === 'cpu_limit_cores')?.value, 0.5);
  });

  it('a container that is not there is an error (the sampler makes it a gap)', async () => {
    const c = dockerStatsCollector({ host: 'x', container: `capacity-test-absent-${process.pid}` });
    await assert.rejects(c.sample(new Date()), /404|No such container/);
  });
});
