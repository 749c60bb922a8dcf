// capacity's k6 build submits through k6/x/capacity (k6x/submit), stock k6 through the same path in JavaScript
// (scenarios/lib/actions.ts). Both must do the same: the same requests with the same k6 tags, the same request
// lines (but their times), the same rejections. The JavaScript path runs on stock k6, as a k8s pod runs it. Each VU sends all of its workers' forms once, by both paths, to
// nginx's /sink/ (201 submit_success, form id "sink"), to a path HQ answers 404, and to a closed port.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureK6Bundle, prepareCorpus } from '../../runner/corpus.ts';
import { freePort } from '../../runner/k6progress.ts';
import type { RunEnv } from '../../scenarios/lib/params.ts';
import { k6Binary, k6Build, NATIVE_MODULE } from '../../stack/components/k6.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import type { StackContext } from '../../stack/component.ts';
import { repoRoot } from '../../core/paths.ts';
import { stockK6 } from '../support/stock-k6.ts';
import { ensureStackUp } from './stack-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-native-it-'));
const USERS = 4;
const VUS = 2;
const PER_WORKER = 6;
const PER_VU = (USERS / VUS) * PER_WORKER;

interface Ran {
  code: number | null;
  stderr: string;
  /** request lines without their time and duration, sorted */
  lines: string[];
  /** k6's http_reqs samples: their tags, sorted */
  samples: string[];
  /** submit_rejected's count */
  rejected: number;
}

function run(binary: string, script: string, baseUrl: string, corpusDir: string, name: string): Ran {
  const env: RunEnv = {
    scenario: 'steady',
    baseUrl,
    domain: 'it-native',
    corpusDir,
    shape: {},
    followEvery: 4,
    ownership: { segments: 1, pool: VUS },
  };
  const out = path.join(tmp, name);
  const res = spawnSync(
    binary,
    [
      'run',
      '--quiet',
      '--summary-mode=disabled',
      '--out',
      `json=${out}.json`,
      '--console-output',
      `${out}.ndjson`,
      '--log-format',
      'raw',
      path.join(repoRoot, 'test', 'integration', 'k6', script),
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        K6_NO_USAGE_REPORT: 'true',
        CAPACITY_RUN: JSON.stringify(env),
        TEST_VUS: String(VUS),
        TEST_PER_VU: String(PER_VU),
      },
      timeout: 120_000,
    },
  );
  const lines = fs
    .readFileSync(`${out}.ndjson`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      assert.equal(typeof r.t, 'number');
      assert.equal(typeof r.d, 'number');
      delete r.t;
      delete r.d;
      return JSON.stringify(r);
    })
    .sort();
  const points = fs
    .readFileSync(`${out}.json`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; metric: string; data: { value: number; tags: Record<string, string> } })
    .filter((p) => p.type === 'Point');
  const samples = points
    .filter((p) => p.metric === 'http_reqs')
    .map((p) => JSON.stringify(Object.entries(p.data.tags).sort()))
    .sort();
  const rejected = points.filter((p) => p.metric === 'submit_rejected').reduce((s, p) => s + p.data.value, 0);
  return { code: res.status, stderr: res.stderr ?? '', lines, samples, rejected };
}

describe("capacity's k6 build (k6/x/capacity) submits as the scenarios' JavaScript does", { timeout: 300_000 }, () => {
  let ctx: StackContext;
  let corpusDir: string;
  let stock: string;

  before(async () => {
    ctx = await ensureStackUp();
    assert.ok(k6Build(k6Binary(ctx)).jsExtensions.includes(NATIVE_MODULE), `${k6Binary(ctx)} has ${NATIVE_MODULE}`);
    corpusDir = (
      await prepareCorpus(
        ctx.paths.home,
        { app: 'household', users: USERS, count: USERS * PER_WORKER, seed: 97531, domain: 'it-native' },
        () => undefined,
      )
    ).dir;
    await ensureK6Bundle();
    stock = await stockK6(ctx);
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const targets = [
    { name: 'accepted (nginx /sink/)', base: () => `${nginxUrl(ctx)}/sink`, ok: true },
    { name: 'rejected (HQ answers 404)', base: () => `${nginxUrl(ctx)}/no-such-path`, ok: false },
    { name: 'no answer (a closed port)', base: async () => `http://127.0.0.1:${await freePort()}`, ok: false },
  ];
  for (const t of targets) {
    it(t.name, async () => {
      const base = await t.base();
      const key = t.name.split(' ')[0]!;
      const js = run(stock, 'submit-all.ts', base, corpusDir, `${key}-js`);
      const native = run(k6Binary(ctx), 'submit-all-native.ts', base, corpusDir, `${key}-native`);
      // 99: k6's thresholds (the scenarios' own) crossed, as they must be when nothing is accepted
      assert.equal(js.code, t.ok ? 0 : 99, js.stderr.slice(-1500));
      assert.equal(native.code, js.code, native.stderr.slice(-1500));
      // every form of the corpus, once, by each path
      assert.equal(js.lines.length, USERS * PER_WORKER);
      assert.deepEqual(native.lines, js.lines);
      assert.equal(native.samples.length, USERS * PER_WORKER);
      assert.deepEqual(native.samples, js.samples, "k6's http_reqs samples carry the same tags");
      const first = JSON.parse(js.lines[0]!) as Record<string, unknown>;
      assert.ok('w' in first && 'form' in first, 'a line names the worker and the form');
      if (t.ok) {
        assert.ok(
          js.lines.every((l) => l.includes('"ok":1') && l.includes('"ack":"sink"')),
          js.lines[0],
        );
        assert.equal(
          js.lines.filter((l) => l.includes('"f":1')).length,
          VUS * Math.ceil(PER_VU / 4),
          'every 4th accepted form of a VU is followed',
        );
        assert.equal(native.rejected, 0);
        assert.equal(js.rejected, 0);
        assert.ok(
          native.samples.every((s) => s.includes('["form",') && s.includes('["endpoint","receiver"]') && s.includes('["status","201"]')),
        );
      } else {
        assert.ok(
          js.lines.every((l) => l.includes('"ok":0') && !l.includes('"ack"')),
          js.lines[0],
        );
        assert.equal(native.rejected, USERS * PER_WORKER);
        assert.equal(js.rejected, USERS * PER_WORKER);
      }
    });
  }
});
