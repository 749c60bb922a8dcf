import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { openTarget } from './index.ts';
import { UrlTarget } from './url.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'url-target-'));
process.env.CAPACITY_HOME = home;
after(() => fs.rmSync(home, { recursive: true, force: true }));
const log = () => undefined;
const creds = (text: string) => {
  const f = path.join(home, `creds-${Math.random()}.csv`);
  fs.writeFileSync(f, text);
  return f;
};
const workers = [0, 1, 2].map((i) => ({ login: `gen${i}`, password: `gp${i}`, userId: `u${i}`, deviceId: `d${i}` }));

describe('the URL target', () => {
  it('needs credentials, and says how to give them', async () => {
    delete process.env.CAPACITY_CREDENTIALS;
    await assert.rejects(
      openTarget('http://127.0.0.1:9', { domain: 'd', users: 1, log, allowRemote: false }),
      (e) => e instanceof UserError && /--credentials <file>/.test(e.message),
    );
    await assert.rejects(
      openTarget('http://127.0.0.1:9', { domain: 'd', users: 1, log, allowRemote: false, credentialsFile: path.join(home, 'none') }),
      (e) => e instanceof UserError && /cannot read credentials file .*ENOENT/.test(e.message),
    );
  });

  it('refuses a target off this machine without --allow-remote, before anything is written', async () => {
    await assert.rejects(
      openTarget('https://hq.example.org', { domain: 'd', users: 1, log, allowRemote: false, credentialsFile: creds('a,b\n') }),
      (e) => e instanceof UserError && /--allow-remote/.test(e.message),
    );
  });

  it('one real worker per generated one: fewer credentials refused in one line; worker i logs in as credential i, in a private file that stop() removes', async () => {
    await assert.rejects(
      openTarget('http://127.0.0.1:9/hq/', { domain: 'd', users: 3, log, allowRemote: false, credentialsFile: creds('w1,p1\nw2,p2\n') }),
      (e) =>
        e instanceof UserError &&
        /^--users 3 needs 3 mobile workers and .* has 2: pass --users 2, or create more with capacity workers create --count 3$/.test(
          e.message,
        ),
    );
    const t = await openTarget('http://127.0.0.1:9/hq/', {
      domain: 'd',
      users: 3,
      log,
      allowRemote: false,
      credentialsFile: creds('w1,p1\nw2,p2\nw3,p3\nw4,p4\n'),
    });
    assert.ok(t instanceof UrlTarget);
    const { endpoint } = await t.prepare();
    assert.equal(endpoint.baseUrl, 'http://127.0.0.1:9/hq');
    const p = await t.provisionWorkers(workers);
    assert.deepEqual(p.first, { username: 'w1', password: 'p1' });
    assert.equal(fs.statSync(p.usersFile!).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(p.usersFile!)).mode & 0o777, 0o700);
    const mapped = JSON.parse(fs.readFileSync(p.usersFile!, 'utf8')) as { login: string; userId: string }[];
    assert.deepEqual(
      mapped.map((m) => m.login),
      ['w1', 'w2', 'w3'],
    );
    assert.deepEqual(
      mapped.map((m) => m.userId),
      ['u0', 'u1', 'u2'],
    );
    await t.stop();
    assert.equal(fs.existsSync(p.usersFile!), false);
    await t.stop();
  });

  it('preflight says the target is unreachable, never throws', async () => {
    const t = await openTarget('http://127.0.0.1:9', { domain: 'd', users: 1, log, allowRemote: false, credentialsFile: creds('w1,p1\n') });
    await t.prepare();
    const checks = await t.preflight({ username: 'w1', password: 'p1' });
    assert.equal(checks[0]!.name, 'target reachable');
    assert.equal(checks[0]!.ok, false);
  });
});
