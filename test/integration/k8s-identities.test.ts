// `capacity k8s manifest --credentials`: the archive the runner pods get carries one real worker per generated one,
// and its corpus is generated for them (the user ids their restores give), as a run against a URL is.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createPool } from '../../hq/index.ts';
import { testWebUser } from '../support/export-client.ts';
import { buildK8sManifest } from '../../k8s/manifests.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { HqApiClient } from '../../targets/hq-api.ts';
import { createWorkers, listWorkers } from '../../targets/workers.ts';
import { ensureStackUp } from './stack-fixture.ts';

describe('a k8s archive for real workers', { timeout: 300_000 }, () => {
  it("carries each real worker's login and a corpus generated for its user id", async () => {
    const ctx = await ensureStackUp();
    const front = nginxUrl(ctx);
    const domain = `it-k8s-ids-${randomUUID().slice(0, 8)}`;
    const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-k8s-ids-'));
    try {
      const pool = createPool(postgresUrl(ctx), 1);
      const apiKey = (await testWebUser(pool, domain)).apiKey.replace(/^ApiKey /, '');
      await pool.end();
      const credentialsFile = path.join(secrets, 'creds.csv');
      const made = await createWorkers({ baseUrl: front, domain, apiKey, prefix: 'kw', count: 2, credentialsFile, log: () => undefined });
      const ids = new Map((await listWorkers(new HqApiClient({ baseUrl: front, apiKey }), domain)).map((u) => [u.username, u.id]));
      const archiveOut = path.join(secrets, 'archive.tar');
      await buildK8sManifest({
        scenario: 'steady',
        target: front,
        parallelism: 1,
        namespace: 'load',
        runnerImage: 'capacity-k6',
        domain,
        app: 'household',
        users: 2,
        seed: randomInt(1, 2 ** 31 - 1),
        shape: { rate: 1, durationS: 3 },
        credentialsFile,
        volumeClaim: 'pvc',
        archiveOut,
        log: () => undefined,
      });
      const out = path.join(secrets, 'x');
      fs.mkdirSync(out);
      execFileSync('tar', ['-xf', archiveOut, '-C', out]);
      const find = (name: string) => execFileSync('find', [out, '-name', name], { encoding: 'utf8' }).trim().split('\n')[0]!;
      const users = JSON.parse(fs.readFileSync(find('users.json'), 'utf8')) as { login: string; userId: string }[];
      assert.deepEqual(
        users.map((u) => u.login),
        made.credentials.map((c) => c.username),
      );
      assert.deepEqual(
        users.map((u) => u.userId),
        made.credentials.map((c) => ids.get(c.username)),
      );
      const body = fs.readFileSync(find('w0.bin'), 'latin1');
      assert.match(body, new RegExp(`<n1:userID>${users[0]!.userId}</n1:userID>`));
      assert.match(body, new RegExp(`<n0:owner_id>${users[0]!.userId}</n0:owner_id>`));
    } finally {
      fs.rmSync(secrets, { recursive: true, force: true });
    }
  });
});
