// `capacity k8s manifest`: the TestRun parses with the fields the k6-operator reads, and the archive in its
// ConfigMap is a runnable test: run here the way the operator's runner pods run it (stock k6, k6 run <archive> with
// an execution segment each, side by side), against the local stack.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { k6SegmentArgs } from '../../runner/segments.ts';
import type { StackContext } from '../../stack/component.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { createPool, ensureMobileWorkers } from '../../hq/index.ts';
import { repoRoot } from '../../core/paths.ts';
import { stockK6 } from '../support/stock-k6.ts';
import { ensureStackUp } from './stack-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-k8s-it-'));
const DOMAIN = 'it-k8s';

function k6(binary: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, K6_NO_USAGE_REPORT: 'true' }, cwd: tmp });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('capacity k8s manifest', { timeout: 240_000 }, () => {
  let ctx: StackContext;
  let docs: Record<string, any>[];
  const seed = randomInt(1, 2 ** 31 - 1);

  let pvcDocs: Record<string, any>[];

  function manifest(extra: string[], out: string): Record<string, any>[] {
    const res = spawnSync(
      path.join(repoRoot, 'capacity'),
      [
        'k8s',
        'manifest',
        'steady',
        '--parallelism',
        '2',
        '--target',
        nginxUrl(ctx),
        '--domain',
        DOMAIN,
        '--seed',
        String(seed),
        '--namespace',
        'load',
        '--out',
        out,
        ...extra,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(res.status, 0, res.stderr);
    return YAML.parseAllDocuments(fs.readFileSync(out, 'utf8')).map((d) => {
      assert.deepEqual(d.errors, []);
      return d.toJS() as Record<string, any>;
    });
  }

  before(async () => {
    ctx = await ensureStackUp();
    // Small enough for a ConfigMap whatever the seed: the archive carries every corpus body, and a form with a
    // photo can be 500 KB, so the small case sends the supply app with its one photo question taken out.
    const supply = fs.readFileSync(path.join(repoRoot, 'generators', 'apps', 'supply.yaml'), 'utf8');
    const noMedia = supply
      .split('\n')
      .filter((l) => !/type: (image|audio|video)\b/.test(l))
      .join('\n');
    assert.notEqual(noMedia, supply, 'the supply app still has a photo question to take out');
    const app = path.join(tmp, 'supply-no-media.yaml');
    fs.writeFileSync(app, noMedia);
    docs = manifest(['--users', '3', '--vus', '2', '--rate', '1', '--duration', '6s', '--app', app], path.join(tmp, 'testrun.yaml'));
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('has the fields the k6-operator expects', () => {
    const tr = docs.find((d) => d.kind === 'TestRun')!;
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    assert.equal(tr.apiVersion, 'k6.io/v1alpha1');
    assert.equal(tr.spec.parallelism, 2);
    assert.equal(tr.spec.script.configMap.name, cm.metadata.name);
    assert.ok(cm.binaryData[tr.spec.script.configMap.file], 'the file the TestRun names is in the ConfigMap');
    assert.equal(tr.metadata.namespace, 'load');
    assert.ok(Buffer.from(cm.binaryData[tr.spec.script.configMap.file], 'base64').length < 1_000_000, 'fits a ConfigMap');
  });

  it('a bigger scenario is refused in a ConfigMap and goes on a volume claim, archive written beside', () => {
    const big = spawnSync(
      path.join(repoRoot, 'capacity'),
      [
        'k8s',
        'manifest',
        'steady',
        '--parallelism',
        '2',
        '--target',
        nginxUrl(ctx),
        '--domain',
        DOMAIN,
        '--seed',
        String(seed),
        '--users',
        '5',
        '--vus',
        '4',
        '--rate',
        '4',
        '--duration',
        '8s',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(big.status, 2);
    assert.match(big.stderr, /over what a ConfigMap can hold .*--volume-claim/);
    const archiveOut = path.join(tmp, 'big-archive.tar');
    pvcDocs = manifest(
      ['--users', '5', '--vus', '4', '--rate', '4', '--duration', '8s', '--volume-claim', 'capacity-scripts', '--archive-out', archiveOut],
      path.join(tmp, 'big.yaml'),
    );
    assert.equal(pvcDocs.length, 1);
    assert.deepEqual(pvcDocs[0]!.spec.script, { volumeClaim: { name: 'capacity-scripts', file: 'archive.tar' } });
    assert.ok(fs.statSync(archiveOut).size > 1_000_000);
  });

  it('the archive runs as two runner pods would: each its segment, together the whole scenario', async () => {
    const tr = docs.find((d) => d.kind === 'TestRun')!;
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    const archive = path.join(tmp, tr.spec.script.configMap.file);
    fs.writeFileSync(archive, Buffer.from(cm.binaryData[tr.spec.script.configMap.file], 'base64'));
    // the archive carries the corpus's generated workers: they exist on the local stack once provisioned
    const listing = spawnSync('tar', ['-xOf', archive, '--wildcards', '*/corpus/users.json'], { encoding: 'utf8' });
    const users = JSON.parse(listing.stdout) as { login: string; password: string; userId: string; deviceId: string }[];
    const pool = createPool(postgresUrl(ctx), 2);
    try {
      await ensureMobileWorkers(
        pool,
        DOMAIN,
        users.map((u) => ({ username: u.login, password: u.password, userId: u.userId, deviceId: u.deviceId })),
      );
    } finally {
      await pool.end();
    }
    // the pods' image is stock k6: the archive must not need capacity's k6 build
    const stock = await stockK6(ctx);
    const run = (i: number) =>
      k6(stock, ['run', '--quiet', ...k6SegmentArgs({ index: i, count: 2 }), '--summary-export', path.join(tmp, `s${i}.json`), archive]);
    const planned = 1 * 6;
    const [a, b] = await Promise.all([run(1), run(2)]);
    assert.equal(a.code, 0, a.out.slice(-2000));
    assert.equal(b.code, 0, b.out.slice(-2000));
    // a pod prints its request log on its output (k6's text log: the line's quotes escaped)
    const acked = [a, b].map((pod) => [...pod.out.matchAll(/\\"ok\\":1/g)].length);
    process.stderr.write(`[k8s] archive segments acknowledged ${acked[0]} + ${acked[1]} forms (1/s for 6 s)\n`);
    assert.ok(acked[0]! > 0 && acked[1]! > 0 && Math.abs(acked[0]! - acked[1]!) <= 1, `an even split ${acked}`);
    assert.ok(Math.abs(acked[0]! + acked[1]! - planned) <= 1, `together the whole scenario: ${acked}`);
    // a pod learns its segment at run time and sends only that segment's workers (w % 2, scenarios/lib/ownership.ts)
    [a, b].forEach((pod, i) => {
      const workers = [...pod.out.matchAll(/\\?"w\\?":(\d+)/g)].map((m) => Number(m[1]));
      assert.equal(workers.length, acked[i], `pod ${i + 1} logged a line per form, each acknowledged`);
      for (const w of workers) assert.equal(w % 2, i, `pod ${i + 1} sent worker ${w}`);
    });
  });
});
