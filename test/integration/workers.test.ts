// `capacity workers create|delete` against the HQ-compatible service's v0.5 user resource on the real stack's
// PostgreSQL: created, reused, passwords known or set anew, 429s waited out, deleted; and the CLI through nginx.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { repoRoot } from '../../core/paths.ts';
import { UserError } from '../../core/errors.ts';
import { ApiThrottle } from '../../hq/api-throttle.ts';
import { WebAuthenticator } from '../../hq/web-users.ts';
import { testWebUser } from '../support/export-client.ts';
import { Authenticator } from '../../hq/users.ts';
import { createHandler } from '../../hq/web.ts';
import { BlobStore, createPool } from '../../hq/index.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { readRestoreResponse } from '../../generators/requests.ts';
import { HqApiClient } from '../../targets/hq-api.ts';
import { createWorkers, deleteWorkers, listWorkers } from '../../targets/workers.ts';
import { parseCredentials } from '../../targets/url-checks.ts';
import { ensureStackUp } from './stack-fixture.ts';

const run = promisify(execFile);

describe('capacity workers', { timeout: 300_000 }, () => {
  let pool: pg.Pool;
  let server: http.Server;
  let base: string;
  let front: string;
  const domain = `it-wk-${randomUUID().slice(0, 8)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-workers-'));
  let apiKey: string;
  const log: string[] = [];

  before(async () => {
    const ctx = await ensureStackUp();
    front = nginxUrl(ctx);
    pool = createPool(postgresUrl(ctx), 4);
    apiKey = (await testWebUser(pool, domain)).apiKey.replace(/^ApiKey /, '');
    // the service's handler in this process with a tight throttle (2 requests at once, then 4/s), so 429s happen
    server = http.createServer(
      createHandler({
        pool,
        blobs: new BlobStore(dir),
        auth: new Authenticator(pool),
        webAuth: new WebAuthenticator(pool),
        apiThrottle: new ApiThrottle(4, 2),
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    await pool?.end();
    // the credentials files are secrets by design (mode 600): gone with the test
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const restore = async (username: string, password: string) => {
    const res = await fetch(`${base}/a/${domain}/phone/restore/?version=2.0&skip_fixtures=true`, {
      headers: { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
    });
    return { status: res.status, id: readRestoreResponse(res.status, await res.text()).registration };
  };

  it('creates N workers through the API, with a credentials file of mode 600 whose logins restore, waiting out 429s', async () => {
    const file = path.join(dir, 'creds.csv');
    const r = await createWorkers({
      baseUrl: base,
      domain,
      apiKey,
      prefix: 'fw',
      count: 10,
      credentialsFile: file,
      log: (m) => log.push(m),
    });
    assert.equal(r.created, 10);
    assert.equal(r.reused, 0);
    assert.ok(r.throttled > 0, 'the throttle answered 429 and the client waited');
    process.stderr.write(`workers create: ${r.created} created, ${r.throttled} requests answered 429 and retried after Retry-After\n`);
    assert.ok(
      log.some((l) => /^429 from .* waiting 1 s as asked/.test(l)),
      log.join('\n'),
    );
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const creds = parseCredentials(fs.readFileSync(file, 'utf8'), file);
    assert.deepEqual(
      creds.map((c) => c.username),
      Array.from({ length: 10 }, (_, i) => `fw${String(i + 1).padStart(4, '0')}@${domain}.commcarehq.org`),
    );
    const listed = new Map(
      (await listWorkers(new HqApiClient({ baseUrl: base, apiKey, sleep: (ms) => new Promise((res) => setTimeout(res, ms)) }), domain)).map(
        (u) => [u.username, u.id],
      ),
    );
    for (const c of creds) {
      const got = await restore(c.username, c.password);
      assert.equal(got.status, 200, c.username);
      assert.equal(got.id?.userId, listed.get(c.username), 'the restore names the user id the API gave');
      assert.match(got.id?.userId ?? '', /^[0-9a-f]{32}$/);
    }
  });

  it('is idempotent: existing names reused with their known passwords, or given new ones when the file is gone; more added', async () => {
    const file = path.join(dir, 'creds.csv');
    const before = fs.readFileSync(file, 'utf8');
    const create = (count: number, credentialsFile: string) =>
      createWorkers({ baseUrl: base, domain, apiKey, prefix: 'fw', count, credentialsFile, log: () => undefined });
    const again = await create(10, file);
    assert.deepEqual([again.created, again.reused, again.passwordsReset], [0, 10, 0]);
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'same logins, same passwords');

    const other = path.join(dir, 'elsewhere.csv');
    const more = await create(12, other);
    assert.deepEqual([more.created, more.reused, more.passwordsReset], [2, 10, 10]);
    for (const c of parseCredentials(fs.readFileSync(other, 'utf8'), other))
      assert.equal((await restore(c.username, c.password)).status, 200, c.username);
  });

  it("deletes the prefix's workers, and deleting again is no error; a key of another domain is refused in one line", async () => {
    const gone = await deleteWorkers({ baseUrl: base, domain, apiKey, prefix: 'fw', log: () => undefined });
    assert.equal(gone.deleted, 12);
    assert.equal((await deleteWorkers({ baseUrl: base, domain, apiKey, prefix: 'fw', log: () => undefined })).deleted, 0);
    const client = new HqApiClient({ baseUrl: base, apiKey });
    assert.deepEqual(await listWorkers(client, domain), []);
    const foreign = (await testWebUser(pool, `${domain}-other`)).apiKey.replace(/^ApiKey /, '');
    await assert.rejects(
      createWorkers({
        baseUrl: base,
        domain,
        apiKey: foreign,
        prefix: 'fw',
        count: 1,
        credentialsFile: path.join(dir, 'x.csv'),
        log: () => undefined,
      }),
      (e: unknown) => e instanceof UserError && /401: the API key was refused/.test(e.message),
    );
    assert.equal(fs.existsSync(path.join(dir, 'x.csv')), false, 'nothing written when nothing was made');
  });

  it("the CLI through nginx and the service's own web workers: an API key of the stack, create, then delete", async () => {
    const keyFile = path.join(dir, 'api-key');
    const cli = path.join(repoRoot, 'capacity');
    const key = await run(cli, ['stack', 'api-key', '--out', keyFile, '--domain', domain]);
    assert.match(key.stdout, /^API key of admin@it-wk-\w+\.capacity\.local for it-wk-\w+ written to .*api-key \(mode 600\)\n$/);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(keyFile, 'utf8'), /^admin@it-wk-\w+\.capacity\.local:[0-9a-f]{40}\n$/);
    const creds = path.join(dir, 'cli.csv');
    const createArgs = (keyFrom: string) => [
      'workers',
      'create',
      '--target',
      front,
      '--count',
      '3',
      '--prefix',
      'cw',
      '--api-key-file',
      keyFrom,
      '--domain',
      domain,
    ];
    const made = await run(cli, [...createArgs(keyFile), '--credentials', creds]);
    assert.match(made.stdout, /^3 created, 0 reused; credentials: .*cli\.csv \(mode 600\)/);
    assert.equal(fs.statSync(creds).mode & 0o777, 0o600);
    const gone = await run(cli, ['workers', 'delete', '--target', front, '--prefix', 'cw', '--api-key-file', keyFile, '--domain', domain]);
    assert.match(gone.stdout, /^3 deleted/);
    await assert.rejects(
      run(cli, createArgs(path.join(dir, 'nope'))),
      (e: { code?: number; stderr?: string }) => e.code === 2 && /^capacity: cannot read API key file .*ENOENT\n$/.test(e.stderr ?? ''),
    );
  });
});
