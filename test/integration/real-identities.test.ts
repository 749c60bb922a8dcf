// The local stack used as a URL target, as a real HQ is: workers created through its API (random user ids the
// generator cannot know), a restore-storm run, and then every worker's restore holds exactly the open cases the
// generator says that worker's acknowledged forms left open.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { repoRoot } from '../../core/paths.ts';
import { loadApp } from '../../generators/node/apps.ts';
import { Population } from '../../generators/population.ts';
import { readRestoreResponse } from '../../generators/requests.ts';
import { createPool } from '../../hq/index.ts';
import { testWebUser } from '../support/export-client.ts';
import { runScenario } from '../../runner/run.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { HqApiClient } from '../../targets/hq-api.ts';
import { parseCredentials } from '../../targets/url-checks.ts';
import { listWorkers } from '../../targets/workers.ts';
import { ensureStackUp } from './stack-fixture.ts';

const run = promisify(execFile);

describe('a URL target with real workers', { timeout: 600_000 }, () => {
  it("restore-storm: every worker's restore holds exactly the generator's open cases for that worker", async () => {
    const ctx = await ensureStackUp();
    const front = nginxUrl(ctx);
    const domain = `it-ids-${randomUUID().slice(0, 8)}`;
    // the API key and credentials (secrets by design) apart from the results, which the suite scans for secrets
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-ids-'));
    const resultsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-ids-results-'));
    try {
      const pool = createPool(postgresUrl(ctx), 1);
      const apiKey = (await testWebUser(pool, domain)).apiKey.replace(/^ApiKey /, '');
      await pool.end();
      fs.writeFileSync(path.join(dir, 'key'), `${apiKey}\n`, { mode: 0o600 });
      const credsFile = path.join(dir, 'creds.csv');
      const users = 4;
      await run(path.join(repoRoot, 'capacity'), [
        'workers',
        'create',
        '--target',
        front,
        '--count',
        String(users),
        '--prefix',
        'rs',
        '--api-key-file',
        path.join(dir, 'key'),
        '--domain',
        domain,
        '--credentials',
        credsFile,
      ]);
      const creds = parseCredentials(fs.readFileSync(credsFile, 'utf8'), credsFile);
      const apiIds = new Map((await listWorkers(new HqApiClient({ baseUrl: front, apiKey }), domain)).map((u) => [u.username, u.id]));
      const identities = creds.map((c) => ({ userId: apiIds.get(c.username)!, username: c.username.split('@')[0]! }));

      const seed = randomInt(1, 2 ** 31 - 1);
      const out = await runScenario({
        scenario: 'restore-storm',
        target: front,
        domain,
        app: 'household',
        users,
        seed,
        credentialsFile: credsFile,
        shape: { rate: 4, prefillS: 6, windowS: 4 },
        resultsRoot,
        collectIntervalMs: 1000,
        noCollect: true,
        livenessEvery: 3,
        log: () => undefined,
        echo: () => undefined,
      });
      assert.equal(out.summary.outcome, 'passed', out.summary.message);
      assert.equal(out.summary.failedRequests, 0);

      // the corpus was generated for the real workers, whose ids the generator alone would never make
      const manifest = JSON.parse(fs.readFileSync(path.join(out.dir, 'manifest.json'), 'utf8')) as { corpus: { dir: string } };
      const corpusUsers = JSON.parse(fs.readFileSync(path.join(manifest.corpus.dir, 'users.json'), 'utf8')) as {
        userId: string;
        username: string;
      }[];
      assert.deepEqual(
        corpusUsers.map((u) => ({ userId: u.userId, username: u.username })),
        identities,
      );
      const app = loadApp('household').app;
      const generated = new Population(app, { seed, domain, users });
      identities.forEach((id, i) => assert.notEqual(generated.user(i).userId, id.userId));

      const acked = new Array<number>(users).fill(0);
      const restores = { ok: 0, all: 0 };
      for (const line of fs.readFileSync(path.join(out.dir, 'requests.ndjson'), 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        const r = JSON.parse(line) as { e: string; ok: number; w?: number };
        if (r.e === 'receiver' && r.ok === 1) acked[r.w!]!++;
        if (r.e === 'restore') {
          restores.all++;
          restores.ok += r.ok;
        }
      }
      assert.ok(
        acked.every((n) => n > 0),
        `every worker sent forms: ${acked.join(', ')}`,
      );
      assert.ok(restores.all >= 2 * users && restores.ok === restores.all, `restores: ${restores.ok}/${restores.all}`);

      const real = new Population(app, { seed, domain, users, identities });
      const figures: string[] = [];
      for (let i = 0; i < users; i++) {
        // the generator's open cases after worker i's acknowledged forms (sent one at a time, in timeline order)
        const open = new Set<string>();
        const tl = real.timeline(i);
        for (let k = 0; k < acked[i]!; k++) {
          for (const c of tl.next().cases) {
            if (c.create) open.add(c.caseId);
            if (c.close) open.delete(c.caseId);
          }
        }
        assert.ok(open.size > 0, `worker ${i} has open cases`);
        const res = await fetch(`${front}/a/${domain}/phone/restore/?version=2.0`, {
          headers: { Authorization: `Basic ${Buffer.from(`${creds[i]!.username}:${creds[i]!.password}`).toString('base64')}` },
        });
        const restore = readRestoreResponse(res.status, await res.text());
        assert.equal(restore.kind, 'success');
        assert.equal(restore.registration?.userId, identities[i]!.userId);
        assert.deepEqual([...restore.caseIds].sort(), [...open].sort(), `worker ${i}: restore = the generator's open cases`);
        figures.push(`${identities[i]!.userId.slice(0, 8)}: ${acked[i]} forms, ${open.size} open cases`);
      }
      process.stderr.write(`real identities: ${figures.join('; ')}; restores ${restores.ok}/${restores.all} ok\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
