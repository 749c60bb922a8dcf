// --target containers: without a Docker engine (this machine: a docker CLI, no daemon) one clear line and a
// non-zero exit, nothing written; with an engine, the compose files validate and a short run goes through the
// containerised stack.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../core/errors.ts';
import {
  COMMCARE_HQ_COMPOSE,
  dockerDir,
  LOCAL_STACK_COMPOSE,
  NO_ENGINE_MESSAGE,
  requireContainerRuntime,
} from '../../docker/containers.ts';
import { repoRoot } from '../../core/paths.ts';

async function engine(): Promise<boolean> {
  try {
    await requireContainerRuntime();
    return true;
  } catch (err) {
    assert.ok(err instanceof UserError, 'no engine is a UserError, not a crash');
    assert.equal(err.message, NO_ENGINE_MESSAGE);
    assert.equal(err.exitCode, 1);
    return false;
  }
}

const hasEngine = await engine();

describe('--target containers', { timeout: 900_000 }, () => {
  it(
    'without a Docker engine: one clear line, exit 1, no results folder, no fake success',
    { skip: hasEngine && 'a Docker engine is present' },
    () => {
      const results = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-docker-it-'));
      const t0 = Date.now();
      const res = spawnSync(
        path.join(repoRoot, 'capacity'),
        ['run', 'steady', '--target', 'containers', '--rate', '1', '--duration', '5s', '--results', results],
        { encoding: 'utf8', timeout: 120_000 },
      );
      assert.equal(res.status, 1, res.stdout + res.stderr);
      const lines = res.stderr.trim().split('\n');
      assert.deepEqual(lines, [`capacity: ${NO_ENGINE_MESSAGE}`], 'exactly one line on stderr');
      assert.match(lines[0]!, /no container engine found/);
      assert.equal(res.stdout, '', 'no summary, no "results:" line');
      assert.deepEqual(fs.readdirSync(results), [], 'no results directory');
      assert.ok(Date.now() - t0 < 60_000, 'fails fast');
      fs.rmSync(results, { recursive: true, force: true });
    },
  );

  it('with a Docker engine: docker compose accepts both files', { skip: !hasEngine && 'no Docker engine on this machine' }, () => {
    for (const file of [LOCAL_STACK_COMPOSE, COMMCARE_HQ_COMPOSE]) {
      const res = spawnSync('docker', ['compose', '-f', path.join(dockerDir, file), 'config', '-q'], {
        encoding: 'utf8',
        env: { ...process.env, COMMCARE_HQ_SRC: os.tmpdir() },
      });
      assert.equal(res.status, 0, `${file}: ${res.stderr}`);
    }
  });

  it(
    'with a Docker engine: a short steady run against the containerised stack',
    { skip: !hasEngine && 'no Docker engine on this machine' },
    () => {
      const results = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-docker-it-'));
      const res = spawnSync(
        path.join(repoRoot, 'capacity'),
        [
          'run',
          'steady',
          '--target',
          'containers',
          '--rate',
          '2',
          '--duration',
          '10s',
          '--users',
          '5',
          '--interval',
          '1s',
          '--results',
          results,
        ],
        { encoding: 'utf8', timeout: 840_000 },
      );
      assert.equal(res.status, 0, res.stderr.slice(-3000));
      assert.match(res.stdout, /PASSED/);
      const dir = /^results: (.+)$/m.exec(res.stdout)![1]!;
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { target: { kind: string } };
      assert.equal(manifest.target.kind, 'containers');
    },
  );
});
